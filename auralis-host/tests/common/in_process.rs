//! The server in the test's own process, on a loopback port 0, and raw
//! HTTP/1.1 against it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auralis_host::server::config::ServerConfig;
use auralis_host::server::{serve, App};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket client connection.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running server: its address, its state, and the way to stop it.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) app: Arc<App>,
    /// Send to begin shutdown (dropping it does too).
    pub(crate) stop: Option<oneshot::Sender<()>>,
    /// Ends when the server has shut down.
    pub(crate) done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts a server with `config` on 127.0.0.1, port 0; on shutdown it
/// gives streams 1.5 s to close.
pub(crate) async fn start(config: ServerConfig) -> Server {
    let (announce, shutdown) = watch::channel(false);
    let app = App::new(config, shutdown).expect("server starts");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(serve(
        Arc::clone(&app),
        listener,
        async {
            let _ = rx.await;
        },
        announce,
        Duration::from_millis(1500),
    ));
    Server {
        addr,
        app,
        stop: Some(tx),
        done,
    }
}

impl Server {
    /// Opens `/ws/stream` with `query` (empty, or starting with `?`).
    pub(crate) async fn connect(&self, query: &str) -> Ws {
        let url = format!("ws://{}/ws/stream{query}", self.addr);
        tokio_tungstenite::connect_async(url)
            .await
            .expect("connects")
            .0
    }
}

/// A request for `path` with no body, asking the server to close after.
pub(crate) fn request(method: &str, path: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

/// [`request`] for `GET`.
pub(crate) fn get(path: &str) -> String {
    request("GET", path)
}

/// Sends `request` as written and reads the whole reply: its status,
/// content type (lower case, empty when absent) and body.
pub(crate) async fn exchange(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line in {head:?}"));
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

//! An Icecast 2.4 source client: pushes a station's Ogg Opus stream to a
//! mount with HTTP `PUT` (basic auth, `Content-Type: audio/ogg`, `ice-*`
//! headers), and keeps it there: when the connection drops (Icecast
//! restarts, the network fails) it reconnects with a capped backoff and
//! goes on with the station's live chunks, so the composition continues
//! rather than starting again.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout;

use crate::source::station::Subscription;
use crate::source::{Ended, Next, Source};
use crate::station::{IcecastState, Station};
use crate::wire::protocol::AudioFormat;
use crate::wire::Payload;

/// First wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait before reconnecting.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A connection that lasted this long streamed: the backoff starts over.
const STREAMED_A_WHILE: Duration = Duration::from_secs(10);
/// How long a write may block before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// An Icecast mount to push to.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The mount point, starting with `/`.
    pub mount: String,
    /// The source user (`source` for Icecast).
    pub user: String,
    password: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.mount)
    }
}

impl Target {
    /// Parses `http://USER:PASSWORD@HOST:PORT/MOUNT` (user and port may be
    /// left out: `source` and 8000).
    pub fn parse(url: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "icecast URL {}: {why} (use http://source:PASSWORD@HOST:PORT/MOUNT.ogg)",
                redact(url)
            )
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// is supported"))?;
        // The password may hold a '/': the user part ends at the last '@'
        // before the mount.
        let at = rest
            .find('/')
            .map_or(rest, |slash| &rest[..slash])
            .len()
            .max(rest.rfind('@').map_or(0, |a| a + 1));
        let (auth, hostport_path) = rest
            .get(..at)
            .and_then(|a| a.strip_suffix('@'))
            .map(|a| (a, &rest[at..]))
            .or_else(|| rest.rsplit_once('@'))
            .ok_or_else(|| bad("no source password"))?;
        let (hostport, path) = hostport_path
            .split_once('/')
            .ok_or_else(|| bad("no mount point"))?;
        let (user, password) = match auth.split_once(':') {
            Some((u, p)) => (u, p),
            None => ("source", auth),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
            None => (hostport, 8000),
        };
        if host.is_empty() || password.is_empty() || path.is_empty() {
            return Err(bad("host, password and mount are all needed"));
        }
        if port == 0 {
            return Err(bad("port 0 is not a port to connect to"));
        }
        // Every part goes into the request's head: nothing that could end
        // a line or a field there.
        let unsafe_char = |c: char| c.is_control() || c.is_whitespace() || !c.is_ascii();
        if [host, path, user, password]
            .iter()
            .any(|p| p.contains(unsafe_char))
        {
            return Err(bad(
                "spaces, control characters (CR, LF, …) and non-ASCII are not allowed in it",
            ));
        }
        Ok(Self {
            host: host.to_string(),
            port,
            mount: format!("/{path}"),
            user: if user.is_empty() {
                "source".into()
            } else {
                user.into()
            },
            password: password.to_string(),
        })
    }
}

/// The URL with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let auth = &url[s + 3..at];
            let user = auth.split_once(':').map_or("", |(u, _)| u);
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Pushes `station` to `target` until `stop` turns true, reconnecting as
/// long as it takes.
pub async fn push(station: Arc<Station>, target: Target, mut stop: watch::Receiver<bool>) {
    set_state(&station, |s| {
        s.target = target.to_string();
    });
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = tokio::time::Instant::now();
        let result = tokio::select! {
            r = stream_once(&station, &target) => r,
            _ = stop.changed() => return,
        };
        // Back to the first wait only after a connection that streamed a
        // while: a server that accepts and drops at once is retried ever
        // more slowly, not four times a second.
        if started.elapsed() >= STREAMED_A_WHILE {
            backoff = FIRST_BACKOFF;
        }
        if *stop.borrow() {
            return;
        }
        let why = result
            .err()
            .unwrap_or_else(|| "the connection ended".into());
        tracing::warn!(station = %station.name, %target, "icecast: {why}; again in {backoff:?}");
        set_state(&station, |s| {
            s.connected = false;
            s.last_error = Some(why);
        });
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn set_state(station: &Station, f: impl FnOnce(&mut IcecastState)) {
    if let Ok(mut s) = station.icecast.lock() {
        f(s.get_or_insert_with(IcecastState::default));
    }
}

/// One connection: the request, Icecast's answer, then pages until
/// something fails.
async fn stream_once(station: &Arc<Station>, target: &Target) -> Result<(), String> {
    let mut tcp = timeout(
        Duration::from_secs(5),
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| "connecting timed out".to_string())?
    .map_err(|e| format!("cannot connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", target.user, target.password));
    let ctx = station.context();
    let request = format!(
        "PUT {mount} HTTP/1.1\r\n\
         Host: {host}:{port}\r\n\
         Authorization: Basic {auth}\r\n\
         User-Agent: auralis/{version}\r\n\
         Content-Type: audio/ogg\r\n\
         Ice-Name: Auralis: {name}\r\n\
         Ice-Description: Ambient music composed live ({key} {mode}), never the same twice\r\n\
         Ice-Genre: Ambient\r\n\
         Ice-Public: 0\r\n\
         Expect: 100-continue\r\n\r\n",
        mount = target.mount,
        host = target.host,
        port = target.port,
        version = env!("CARGO_PKG_VERSION"),
        name = station.name,
        key = ctx.spelling().name(ctx.key_pc()),
        mode = ctx.mode().name(),
    );
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let head = read_head(&mut tcp).await?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("Icecast answered {:?}", head.lines().next().unwrap_or("")))?;
    match status {
        100 | 200 => {}
        401 => return Err("Icecast refused the source password (401)".into()),
        403 => {
            return Err(format!(
                "Icecast refused the mount {} (403: in use or not allowed)",
                target.mount
            ))
        }
        other => {
            return Err(format!(
                "Icecast answered {other}: {}",
                head.lines().next().unwrap_or("")
            ))
        }
    }
    tracing::info!(station = %station.name, %target, "icecast: pushing");
    set_state(station, |s| {
        s.connected = true;
        s.connects += 1;
        s.last_error = None;
    });
    // A listener like any other: the station's headers, its pre-roll,
    // then its live pages, never one twice.
    let mut source = Subscription::new(Arc::clone(station), false);
    if let Some(headers) = source.preamble() {
        write(&mut tcp, &headers).await?;
    }
    loop {
        match source.next().await {
            Next::Chunk { chunk, .. } => {
                if let Some(Payload::Binary(page)) = chunk.audio(AudioFormat::Ogg) {
                    write(&mut tcp, &page).await?;
                }
            }
            Next::Late => {}
            Next::End(Ended::TooSlow) => {
                tracing::warn!(station = %station.name, "icecast: fell behind; going on from the live edge");
                source.pause();
                source.resume();
            }
            Next::End(_) => return Ok(()),
        }
    }
}

async fn write(tcp: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    match timeout(WRITE_TIMEOUT, tcp.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("the connection failed: {e}")),
        Err(_) => Err("Icecast stopped reading".into()),
    }
}

/// Reads a response head (up to the blank line), at most 8 KiB, 5 s.
async fn read_head(tcp: &mut TcpStream) -> Result<String, String> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    let read = async {
        while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
            match tcp.read(&mut byte).await {
                Ok(0) => return Err("Icecast closed the connection".to_string()),
                Ok(_) => head.push(byte[0]),
                Err(e) => return Err(format!("reading Icecast's answer: {e}")),
            }
        }
        Ok(())
    };
    timeout(Duration::from_secs(5), read)
        .await
        .map_err(|_| "Icecast did not answer within 5 s".to_string())??;
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_never_show_the_password() {
        let t = Target::parse("http://source:s3cret@127.0.0.1:8001/sleep.ogg").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.mount.as_str(), t.user.as_str()),
            ("127.0.0.1", 8001, "/sleep.ogg", "source")
        );
        assert!(!format!("{t} {t:?}").contains("s3cret"));
        let t = Target::parse("http://hackme@radio.example/live.ogg").unwrap();
        assert_eq!((t.port, t.user.as_str()), (8000, "source"));
        for bad in [
            "https://source:x@h:1/m.ogg",
            "http://h:1/m.ogg",
            "http://source:x@h:port/m.ogg",
            "http://source:x@h:1",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert!(!e.contains(":x@"), "{e}");
        }
        assert_eq!(
            redact("http://source:pw@h:1/m.ogg"),
            "http://source:***@h:1/m.ogg"
        );
    }

    #[test]
    fn nothing_that_could_reach_the_request_head_as_a_new_line_is_accepted() {
        for bad in [
            "http://source:x@h:8000/live.ogg\r\nX-Evil: 1",
            "http://source:x@h:8000/live\r\n.ogg",
            "http://source:x@h:8000/my live.ogg",
            "http://source:x@h\n:8000/m.ogg",
            "http://sou rce:x@h:8000/m.ogg",
            "http://source:x@h:0/m.ogg",
            "http://source:x@h:8000/mé.ogg",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert!(e.starts_with("icecast URL"), "{bad:?}: {e}");
        }
        // A '/' (or an '@') in the password is fine.
        let t = Target::parse("http://source:a/b@c@h:8001/m.ogg").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.mount.as_str()),
            ("h", 8001, "/m.ogg")
        );
        assert_eq!(t.password, "a/b@c");
    }

    /// A server that accepts, answers 200 and hangs up at once: the
    /// source client backs off (250 ms, 500 ms, 1 s, 2 s …) instead of
    /// reconnecting four times a second.
    #[tokio::test(start_paused = true)]
    async fn a_server_that_drops_at_once_is_retried_ever_more_slowly() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            }
        });
        let spec = crate::station::StationSpec::parse_flag("t=sleep:1").unwrap();
        let font = auralis_core::synth::SoundFont::parse(auralis_core::bank::DEFAULT_SF2).unwrap();
        let station = Station::start(&spec, font).unwrap();
        let target = Target::parse(&format!("http://source:pw@127.0.0.1:{port}/t.ogg")).unwrap();
        let (stop_tx, stop) = watch::channel(false);
        let pushing = tokio::spawn(push(Arc::clone(&station), target, stop));
        // Twenty seconds of the paused clock.
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let n = accepted.load(std::sync::atomic::Ordering::Relaxed);
        stop_tx.send(true).unwrap();
        let _ = pushing.await;
        station.stop();
        // 0, 0.25, 0.75, 1.75, 3.75, 8.75, 13.75, 18.75 s: about eight
        // (with no backoff it would be about eighty).
        assert!((4..=12).contains(&n), "{n} connections in 20 s");
    }
}

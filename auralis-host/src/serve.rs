//! `auralis-host serve`: the streaming server's command line.

use std::path::PathBuf;
use std::time::Duration;

use auralis_host::server::config::{FileConfig, ServerConfig};
use auralis_host::server::{serve, App};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long shutdown waits for streams to close.
const DRAIN: Duration = Duration::from_millis(1500);

/// Arguments of `serve` (also taken with no subcommand at all).
#[derive(Debug, Default, clap::Args)]
#[command(after_long_help = CONFIG_HELP)]
pub(crate) struct ServeArgs {
    /// Address to listen on (host:port; port 0 picks a free one)
    /// [config: addr; default: 127.0.0.1:8000]
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// A SoundFont (.sf2) to play instead of the built-in bank
    /// [config: soundfont; default: the built-in bank]
    #[arg(long, value_name = "FILE.sf2")]
    soundfont: Option<PathBuf>,
    /// A TOML file with any of the config keys below (flags win)
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Most simultaneous listeners; more are refused with HTTP 503
    /// [config: max_clients; default: 256]
    #[arg(long, value_name = "N")]
    max_clients: Option<usize>,
    /// Render threads, 0 = one per core [config: render_threads; default: 0]
    #[arg(long, value_name = "N")]
    render_threads: Option<usize>,
    /// Output sample rate, 44100 or 48000 [config: sample_rate; default: 44100]
    #[arg(long, value_name = "HZ")]
    sample_rate: Option<u32>,
    /// Most open HTTP connections, listeners included; more are closed at
    /// once (kept below the descriptor limit) [config: max_connections;
    /// default: 1024]
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Most open connections from one address, so that one peer cannot
    /// take them all; 0 = an eighth of --max-connections
    /// [config: max_connections_per_address; default: 0]
    #[arg(long, value_name = "N")]
    max_connections_per_address: Option<usize>,
    /// Seconds a client has to send a request's headers
    /// [config: header_timeout; default: 10]
    #[arg(long, value_name = "SECS")]
    header_timeout: Option<u64>,
    /// Seconds a connection may sit idle between requests (listeners
    /// streaming are not idle) [config: idle_timeout; default: 30]
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<u64>,
    /// Only pages from these origins may open a stream, e.g.
    /// https://radio.example (repeatable; default: any origin)
    /// [config: allowed_origins]
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// A station: one composition for every listener of
    /// /station/NAME and /ws/stream?station=NAME; PRESET is focus,
    /// meditation, sleep or bright, SEED a number or "daily" (the default)
    /// (repeatable) [config: [[stations]]]
    #[arg(long = "station", value_name = "NAME=PRESET[:SEED]")]
    stations: Vec<String>,
    /// The bearer token for changing a station's music
    /// (POST /api/stations/NAME); at least 16 characters
    /// [config: admin_token; default: none, the endpoint is closed]
    #[arg(
        long,
        value_name = "TOKEN",
        env = "AURALIS_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
}

const CONFIG_HELP: &str = "\
Config file keys (all optional; command-line flags override them):
  addr = \"127.0.0.1:8000\"     where to listen
  soundfont = \"/path/font.sf2\" play this instead of the built-in bank
  max_clients = 256            most simultaneous listeners
  render_threads = 0           0 = one per core
  sample_rate = 44100          44100 or 48000
  max_connections = 1024       most open HTTP connections
  max_connections_per_address = 0   most from one address (0: an eighth)
  header_timeout = 10          seconds to send request headers
  idle_timeout = 30            seconds a connection may sit idle
  allowed_origins = []         origins allowed to open a stream (any if empty)
  admin_token = \"…\"            bearer token for POST /api/stations/NAME
  [[stations]]                 a station (repeat the table for more):
  name = \"sleep\"               /station/sleep, /ws/stream?station=sleep
  preset = \"sleep\"             or key = 62, mode = \"dorian\", bpm, intensity
  seed = 42                    or \"daily\" (the default)
  icecast = \"http://source:PASSWORD@HOST:PORT/sleep.ogg\"   push it to Icecast

Routes: /  (web player), /ws/stream (audio; ?seed=N, ?format=binary,
?codec=opus, ?station=NAME), /listen (Ogg Opus for any player),
/station/NAME (a station as Ogg Opus), POST /api/stations/NAME (admin),
/api/status, /api/metrics, /metrics (Prometheus), /healthz.
Logging: RUST_LOG (default \"info\"), e.g. RUST_LOG=auralis_host=debug.";

impl ServeArgs {
    fn config(&self) -> Result<ServerConfig, String> {
        let mut c = ServerConfig::default();
        if let Some(path) = &self.config {
            c.apply_file(FileConfig::load(path)?)?;
        }
        // Flags are one more layer of the same keys, on top.
        c.apply_file(FileConfig {
            addr: self.addr.clone(),
            soundfont: self.soundfont.clone(),
            max_clients: self.max_clients,
            render_threads: self.render_threads,
            sample_rate: self.sample_rate,
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            allowed_origins: (!self.allowed_origins.is_empty())
                .then(|| self.allowed_origins.clone()),
            admin_token: self.admin_token.clone(),
            stations: None,
        })?;
        for flag in &self.stations {
            c.stations
                .push(auralis_host::station::StationSpec::parse_flag(flag)?);
        }
        c.check()?;
        Ok(c)
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub(crate) fn run(args: &ServeArgs) -> Result<(), String> {
    let config = args.config()?;
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("auralis-io")
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let (announce, shutdown) = watch::channel(false);
        let addr = config.addr;
        // The port first: a busy port is reported at once, before any
        // station has started, and connections wait in the backlog while
        // the stations start (each is logged).
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            format!(
                "cannot listen on {addr}: {e} (is another server running? try --addr 127.0.0.1:0)"
            )
        })?;
        let app = App::new(config, shutdown)?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        tracing::info!(
            soundfont = app
                .config()
                .soundfont
                .as_ref()
                .map_or("built-in bank".into(), |p| p.display().to_string()),
            render_threads = app.config().render_threads(),
            max_clients = app.config().max_clients,
            "Auralis listening on {local}"
        );
        if !auralis_host::server::assets::has_engine() {
            tracing::warn!(
                "built without the WebAssembly engine: the page will stream from this server \
                 (rustup target add wasm32-unknown-unknown, then build again, to let browsers compose themselves)"
            );
        }
        println!("Auralis is playing at http://{local}/ (open it in a browser; Ctrl-C stops)");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        serve(app, listener, stop_signal(), announce, DRAIN)
            .await
            .map_err(|e| format!("server failed: {e}"))?;
        tracing::info!("stopped");
        Ok::<(), String>(())
    })?;
    // Sessions still draining are dropped with the runtime.
    runtime.shutdown_timeout(Duration::from_millis(200));
    Ok(())
}

/// Logs to stderr through `tracing` (`RUST_LOG`, default `info`).
pub(crate) fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

//! Server configuration: built-in defaults, then an optional TOML file
//! (`--config auralis.toml`), then command-line flags, each overriding the
//! one before.

use auralis_core::SampleRate;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default listening address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8000";
/// Default limit of simultaneous listeners.
pub const DEFAULT_MAX_CLIENTS: usize = 256;
/// Default output sample rate.
pub const DEFAULT_SAMPLE_RATE: SampleRate = SampleRate::HZ_44100;
/// Default limit of open HTTP connections (listeners included); also
/// kept below the process's descriptor limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default seconds a client has to send a request's headers.
pub const DEFAULT_HEADER_TIMEOUT: u64 = 10;
/// Default seconds a connection may sit idle between requests (not
/// WebSocket listeners, which stream).
pub const DEFAULT_IDLE_TIMEOUT: u64 = 30;

/// Everything the server can be told.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// A SoundFont to play instead of the built-in bank.
    pub soundfont: Option<PathBuf>,
    /// Listeners beyond this are refused with HTTP 503.
    pub max_clients: usize,
    /// Render threads; 0 means one per core.
    pub render_threads: usize,
    /// Output sample rate, 44100 or 48000 ([`server_rate`]).
    pub sample_rate: SampleRate,
    /// Open HTTP connections beyond this are closed at once.
    pub max_connections: usize,
    /// Open connections one address may hold; 0 means an eighth of the
    /// connection limit in force ([`ServerConfig::per_address_limit`]).
    pub max_connections_per_address: usize,
    /// Seconds to send a request's headers.
    pub header_timeout: u64,
    /// Seconds a non-WebSocket connection may sit idle.
    pub idle_timeout: u64,
    /// Origins allowed to open a stream (empty: any).
    pub allowed_origins: Vec<String>,
    /// Stations: one composition each, for any number of listeners.
    pub stations: Vec<crate::station::StationSpec>,
    /// The bearer token of the admin endpoint (none: it is closed).
    pub admin_token: Option<String>,
}

/// `hz` as a rate the server streams at: 44.1 or 48 kHz (the rates every
/// browser and player takes; Opus streams are always 48 kHz).
///
/// # Errors
/// Says which rates to use.
pub fn server_rate(hz: u32) -> Result<SampleRate, String> {
    match SampleRate::new(hz) {
        Ok(r) if r == SampleRate::HZ_44100 || r == SampleRate::HZ_48000 => Ok(r),
        _ => Err(format!(
            "sample_rate {hz} is not supported: use 44100 or 48000"
        )),
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8000))),
            soundfont: None,
            max_clients: DEFAULT_MAX_CLIENTS,
            render_threads: 0,
            sample_rate: DEFAULT_SAMPLE_RATE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_address: 0,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            allowed_origins: Vec::new(),
            stations: Vec::new(),
            admin_token: None,
        }
    }
}

/// Stations one core can keep in real time with room for listeners (a
/// station costs about 2 % of a core: synthesis plus encoding every form).
pub const MAX_STATIONS_PER_CORE: usize = 40;

/// A `[[stations]]` entry of `auralis.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStation {
    /// `name = "sleep"` (in URLs: `/station/sleep`)
    pub name: String,
    /// `preset = "sleep"` (then `key`, `mode`, `bpm`, `intensity` over it)
    pub preset: Option<String>,
    /// `key = 62` (MIDI 60–71)
    pub key: Option<u8>,
    /// `mode = "dorian"`
    pub mode: Option<String>,
    /// `bpm = 60`
    pub bpm: Option<f64>,
    /// `intensity = 0.4`
    pub intensity: Option<f64>,
    /// `seed = 42` or `seed = "daily"` (the default)
    pub seed: Option<FileSeed>,
    /// `icecast = "http://source:PASSWORD@HOST:PORT/MOUNT.ogg"`
    pub icecast: Option<String>,
}

/// A station's seed in the config: a number or `"daily"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileSeed {
    /// `seed = 42`
    Number(u64),
    /// `seed = "daily"`
    Word(String),
    /// Anything else TOML can hold (`-1`, `4.5`, `true`): refused by
    /// name in [`FileStation::spec`], not with serde's words.
    Other(toml::Value),
}

impl FileStation {
    /// The station this entry describes.
    pub fn spec(&self) -> Result<crate::station::StationSpec, String> {
        use crate::station::{Seed, StationSpec};
        use std::str::FromStr as _;
        let at = |e: String| format!("station {:?}: {e}", self.name);
        let mut context = auralis_core::music::MusicalContext::DEFAULT;
        if let Some(p) = &self.preset {
            let p = auralis_core::music::Preset::from_str(p).map_err(|_| {
                at(format!(
                    "preset {p:?} is not focus, meditation, sleep or bright"
                ))
            })?;
            context = context.with_preset(p);
        }
        let mut params = serde_json::Map::new();
        if let Some(k) = self.key {
            params.insert("key".into(), k.into());
        }
        if let Some(m) = &self.mode {
            params.insert("mode".into(), m.clone().into());
        }
        if let Some(b) = self.bpm {
            params.insert("bpm".into(), b.into());
        }
        if let Some(i) = self.intensity {
            params.insert("intensity".into(), i.into());
        }
        if !params.is_empty() {
            context = crate::wire::protocol::parse_params(&params, &context)
                .map_err(|r| at(r.message))?;
        }
        let seed = match &self.seed {
            None => Seed::Daily,
            Some(FileSeed::Number(n)) => Seed::Fixed(*n),
            Some(FileSeed::Word(w)) if w == "daily" => Seed::Daily,
            Some(FileSeed::Word(w)) => {
                return Err(at(format!("seed {w:?} is not a whole number or \"daily\"")))
            }
            Some(FileSeed::Other(v)) => {
                return Err(at(format!(
                    "seed {v} is not a whole number from 0 or \"daily\""
                )))
            }
        };
        if let Some(url) = &self.icecast {
            crate::transport::icecast::Target::parse(url).map_err(at)?;
        }
        let spec = StationSpec {
            name: self.name.clone(),
            context,
            seed,
            icecast: self.icecast.clone(),
        };
        spec.check()?;
        Ok(spec)
    }
}

/// The keys of `auralis.toml`; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `addr = "127.0.0.1:8000"`
    pub addr: Option<String>,
    /// `soundfont = "/usr/share/sounds/sf2/FluidR3_GM.sf2"`
    pub soundfont: Option<PathBuf>,
    /// `max_clients = 256`
    pub max_clients: Option<usize>,
    /// `render_threads = 0` (one per core)
    pub render_threads: Option<usize>,
    /// `sample_rate = 44100`
    pub sample_rate: Option<u32>,
    /// `max_connections = 1024`
    pub max_connections: Option<usize>,
    /// `max_connections_per_address = 0` (an eighth of max_connections)
    pub max_connections_per_address: Option<usize>,
    /// `header_timeout = 10` (seconds)
    pub header_timeout: Option<u64>,
    /// `idle_timeout = 30` (seconds)
    pub idle_timeout: Option<u64>,
    /// `allowed_origins = ["https://example.org"]`
    pub allowed_origins: Option<Vec<String>>,
    /// `admin_token = "…"`: the bearer token of `POST /api/stations/NAME`
    pub admin_token: Option<String>,
    /// `[[stations]]` entries
    pub stations: Option<Vec<FileStation>>,
}

impl FileConfig {
    /// Reads and checks a TOML file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = crate::files::read_limited(path, crate::files::MAX_CONFIG_BYTES, "config")?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("config {} is not UTF-8 text", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))
    }
}

impl ServerConfig {
    /// Connections one address may hold when `limit` connections are
    /// allowed in all: the configured number, or an eighth of `limit`
    /// (at least one), so that one peer cannot take every connection.
    pub fn per_address_limit(&self, limit: usize) -> usize {
        match self.max_connections_per_address {
            0 => (limit / 8).max(1),
            n => n.min(limit),
        }
    }

    /// Applies a file's keys over these values.
    pub fn apply_file(&mut self, file: FileConfig) -> Result<(), String> {
        if let Some(a) = file.addr {
            self.addr = parse_addr(&a)?;
        }
        if let Some(s) = file.soundfont {
            self.soundfont = Some(s);
        }
        if let Some(m) = file.max_clients {
            self.max_clients = m;
        }
        if let Some(t) = file.render_threads {
            self.render_threads = t;
        }
        if let Some(r) = file.sample_rate {
            self.sample_rate = server_rate(r)?;
        }
        if let Some(m) = file.max_connections {
            self.max_connections = m;
        }
        if let Some(m) = file.max_connections_per_address {
            self.max_connections_per_address = m;
        }
        if let Some(t) = file.header_timeout {
            self.header_timeout = t;
        }
        if let Some(t) = file.idle_timeout {
            self.idle_timeout = t;
        }
        if let Some(o) = file.allowed_origins {
            self.allowed_origins = o;
        }
        if let Some(t) = file.admin_token {
            self.admin_token = Some(t);
        }
        if let Some(stations) = file.stations {
            for s in &stations {
                self.stations.push(s.spec()?);
            }
        }
        self.check()
    }

    /// Refuses values the server cannot run with.
    pub fn check(&self) -> Result<(), String> {
        if self.max_clients == 0 {
            return Err("max_clients must be at least 1".into());
        }
        server_rate(self.sample_rate.hz())?;
        if self.max_connections == 0 {
            return Err("max_connections must be at least 1".into());
        }
        if !(1..=3600).contains(&self.header_timeout) || !(1..=86_400).contains(&self.idle_timeout)
        {
            return Err(format!(
                "header_timeout {} and idle_timeout {} are seconds: 1–3600 and 1–86400",
                self.header_timeout, self.idle_timeout
            ));
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if self.stations.len() > MAX_STATIONS_PER_CORE * cores {
            return Err(format!(
                "{} stations need more than this machine's {cores} core(s): a station renders and \
                 encodes in real time, about 2 % of a core, so at most {} fit here",
                self.stations.len(),
                MAX_STATIONS_PER_CORE * cores
            ));
        }
        for (i, s) in self.stations.iter().enumerate() {
            s.check()?;
            if self.stations[..i].iter().any(|t| t.name == s.name) {
                return Err(format!("two stations are called {:?}", s.name));
            }
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.len() < 16 || t.contains(char::is_whitespace))
        {
            return Err("admin_token must be at least 16 characters, without spaces".into());
        }
        if self.render_threads > 256 {
            return Err(format!(
                "render_threads {} is too many (at most 256)",
                self.render_threads
            ));
        }
        Ok(())
    }

    /// Render threads to start: the configured number, or one per core.
    pub fn render_threads(&self) -> usize {
        if self.render_threads > 0 {
            self.render_threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// Parses `host:port` (names such as `localhost` resolve).
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    s.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("address {s:?} is not host:port (for example 127.0.0.1:8000)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_bad_keys_are_named() {
        let mut c = ServerConfig::default();
        let f: FileConfig = toml::from_str("addr = \"127.0.0.1:9\"\nmax_clients = 3\n").unwrap();
        c.apply_file(f).unwrap();
        assert_eq!((c.addr.port(), c.max_clients), (9, 3));
        let e = toml::from_str::<FileConfig>("max_client = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_client"), "{e}");
        let f: FileConfig = toml::from_str("sample_rate = 22050").unwrap();
        assert!(c.apply_file(f).unwrap_err().contains("44100 or 48000"));
        assert!(parse_addr("nonsense").is_err());
    }

    #[test]
    fn the_example_deploy_config_is_valid() {
        let text = include_str!("../../../deploy/auralis.toml");
        let mut c = ServerConfig::default();
        c.apply_file(toml::from_str(text).unwrap()).unwrap();
        assert_eq!(c.stations.len(), 2);
        assert!(c.stations[0].icecast.is_some());
    }

    #[test]
    fn more_stations_than_the_cores_can_keep_are_refused_with_the_limit() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let limit = MAX_STATIONS_PER_CORE * cores;
        let mut c = ServerConfig {
            stations: (0..=limit)
                .map(|i| {
                    crate::station::StationSpec::parse_flag(&format!("s{i}=sleep:{i}")).unwrap()
                })
                .collect(),
            ..ServerConfig::default()
        };
        let e = c.check().unwrap_err();
        assert!(e.contains(&format!("at most {limit} fit here")), "{e}");
        c.stations.pop();
        assert!(c.check().is_ok(), "{limit} stations are allowed");
    }

    #[test]
    fn a_bad_seed_is_named_in_plain_words() {
        for (seed, says) in [
            ("-1", "seed -1 is not"),
            ("4.5", "seed 4.5 is not"),
            ("true", "seed true is not"),
        ] {
            let f: FileConfig =
                toml::from_str(&format!("[[stations]]\nname = \"s\"\nseed = {seed}\n")).unwrap();
            let e = ServerConfig::default().apply_file(f).unwrap_err();
            assert!(e.contains(says) && !e.contains("untagged"), "{e}");
        }
    }

    #[test]
    fn stations_come_from_the_file() {
        let mut c = ServerConfig::default();
        let f: FileConfig = toml::from_str(
            r#"
admin_token = "0123456789abcdef"
[[stations]]
name = "sleep"
preset = "sleep"
seed = 42
icecast = "http://source:pw@127.0.0.1:8001/sleep.ogg"
[[stations]]
name = "cafe"
key = 62
mode = "dorian"
seed = "daily"
"#,
        )
        .unwrap();
        c.apply_file(f).unwrap();
        assert_eq!(c.stations.len(), 2);
        assert_eq!(c.stations[0].seed, crate::station::Seed::Fixed(42));
        assert_eq!(c.stations[1].context.key(), 62);
        assert_eq!(c.stations[1].seed, crate::station::Seed::Daily);
        for (bad, says) in [
            ("[[stations]]\nname = \"a b\"", "letters"),
            ("[[stations]]\nname = \"x\"\nseed = \"soon\"", "daily"),
            ("[[stations]]\nname = \"x\"\nkey = 50", "60–71"),
            (
                "[[stations]]\nname = \"x\"\nicecast = \"ftp://h/m\"",
                "http://",
            ),
            ("[[stations]]\nname = \"x\"\nvolume = 3", "volume"),
            ("admin_token = \"short\"", "16 characters"),
        ] {
            let mut c = ServerConfig::default();
            let e = toml::from_str::<FileConfig>(bad)
                .map_err(|e| e.to_string())
                .and_then(|f| c.apply_file(f))
                .unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}

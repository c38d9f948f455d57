//! `zonechaos echo ...` and `zonechaos loadgen ...`: the test application
//! (see [`crate::app`]). Flag values are checked by clap (bad values exit
//! 2); a listener that cannot be opened exits 3.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hyper::Uri;
use tokio::sync::watch;

use super::{CliError, Status};
use crate::app::echo::{Echo, EchoConfig};
use crate::app::loadgen::{self, LoadgenConfig};
use crate::app::{self as application, BindError, Signals, say};

/// Arguments of `zonechaos echo`.
#[derive(Debug, Args)]
pub struct EchoArgs {
    /// Zone this backend runs in (`x-zonechaos-zone`).
    #[arg(long, value_name = "ZONE", value_parser = header_text)]
    pub zone: String,
    /// Pod name (`x-zonechaos-pod`).
    #[arg(long, value_name = "NAME", value_parser = header_text)]
    pub pod: String,
    /// Rollout this pod belongs to.
    #[arg(long, value_name = "NAME", value_parser = header_text)]
    pub rollout: String,
    /// Version served (`x-zonechaos-version`).
    #[arg(long, value_name = "VERSION", value_parser = header_text)]
    pub version: String,
    /// Address to listen on (`127.0.0.1:0` picks a free port; `:8080` means
    /// `0.0.0.0:8080`).
    #[arg(long, value_name = "ADDR", value_parser = listen_addr)]
    pub listen: SocketAddr,
    /// Fraction of answers that are 503 (0 to 1, deterministic sequence).
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    pub fail_rate: f64,
    /// Added latency per answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,
    /// `/healthz` answers 503 until this many milliseconds after start.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub ready_after: u64,
}

/// Arguments of `zonechaos loadgen`.
#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// Zone the client runs in (`client_zone` label).
    #[arg(long, value_name = "ZONE", value_parser = non_empty)]
    pub zone: String,
    /// URL to GET (`http://host:port/path`; no TLS).
    #[arg(long, value_name = "URL", value_parser = target_url)]
    pub target: Uri,
    /// Requests started per second, whatever the answers (open loop).
    #[arg(long, value_name = "N", value_parser = crate::limits::rps_flag)]
    pub rps: f64,
    /// Address of the metrics server (`/metrics`, `/healthz`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = listen_addr)]
    pub listen: SocketAddr,
    /// Per-request timeout in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Stop after this many seconds (default: at SIGTERM/SIGINT); the
    /// metrics server then stays up one more second for a last scrape.
    #[arg(long, value_name = "S", value_parser = seconds)]
    pub duration: Option<f64>,
    /// Most requests in flight; requests beyond are counted as
    /// `code="0",error="overload"` and not sent.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_in_flight: u64,
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// Non-empty, and sendable as an HTTP header value.
fn header_text(text: &str) -> Result<String, String> {
    let text = non_empty(text)?;
    if hyper::header::HeaderValue::from_str(&text).is_err() {
        return Err(
            "must not contain control characters (it is sent as an HTTP header)".to_owned(),
        );
    }
    Ok(text)
}

/// `IP:PORT`, or `:PORT` for every IPv4 address.
fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_owned()
    };
    full.parse()
        .map_err(|_| format!("'{text}' is not IP:PORT (e.g. 127.0.0.1:0, 0.0.0.0:8080, :8080)"))
}

fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("'{text}' is not a fraction between 0 and 1")),
    }
}

fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 1e9 => Ok(s),
        _ => Err(format!("'{text}' is not a positive number of seconds")),
    }
}

fn target_url(text: &str) -> Result<Uri, String> {
    let uri: Uri = text
        .parse()
        .map_err(|e| format!("'{text}' is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err("https is not supported (no TLS); target the plain-HTTP port".to_owned());
        }
        Some(other) => return Err(format!("scheme '{other}' is not supported; use http://")),
        None => return Err(format!("'{text}' has no scheme; write http://{text}")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("'{text}' has no host"));
    }
    Ok(uri)
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::infrastructure(
                format!("cannot start the async runtime: {e}"),
                "check the process limits (threads, file descriptors)",
            )
        })
}

fn bind_error(err: BindError) -> CliError {
    let hint = err.hint();
    CliError::infrastructure(err.to_string(), hint)
}

fn signal_error(err: std::io::Error) -> CliError {
    CliError::infrastructure(
        format!("cannot install the SIGTERM/SIGINT handlers: {err}"),
        "run on a Unix system with signal support",
    )
}

/// Runs `echo` until SIGTERM/SIGINT.
pub fn run_echo(args: &EchoArgs) -> Result<Status, CliError> {
    let config = EchoConfig {
        zone: args.zone.clone(),
        pod: args.pod.clone(),
        rollout: args.rollout.clone(),
        version: args.version.clone(),
        fail_rate: args.fail_rate,
        latency: Duration::from_millis(args.latency),
        ready_after: Duration::from_millis(args.ready_after),
    };
    let echo = Echo::new(config).map_err(|e| {
        CliError::usage(
            e.to_string(),
            "use printable text for --zone, --pod and --version",
        )
    })?;
    runtime()?.block_on(async move {
        let mut signals = Signals::install().map_err(signal_error)?;
        let listener = application::bind(args.listen).await.map_err(bind_error)?;
        let local = listener.local_addr().unwrap_or(args.listen);
        say(&format!("listening on {local}"));
        let (stop_tx, stop_rx) = watch::channel(false);
        let server = application::echo::run(Arc::new(echo), listener, stop_rx);
        let signalled = async move {
            signals.wait().await;
            tracing::info!("signal received: finishing requests in flight");
            let _ = stop_tx.send(true);
        };
        tokio::join!(server, signalled);
        Ok(Status::Clean)
    })
}

/// Runs `loadgen` for `--duration` or until SIGTERM/SIGINT.
pub fn run_loadgen(args: &LoadgenArgs) -> Result<Status, CliError> {
    let config = LoadgenConfig {
        zone: args.zone.clone(),
        target: args.target.clone(),
        rps: args.rps,
        timeout: Duration::from_millis(args.timeout),
        duration: args.duration.map(Duration::from_secs_f64),
        max_in_flight: usize::try_from(args.max_in_flight).unwrap_or(usize::MAX),
    };
    runtime()?.block_on(async move {
        let mut signals = Signals::install().map_err(signal_error)?;
        let listener = application::bind(args.listen).await.map_err(bind_error)?;
        let local = listener.local_addr().unwrap_or(args.listen);
        say(&format!("metrics on {local}"));
        let (stop_tx, stop_rx) = watch::channel(false);
        // The signal task outlives the run when no signal comes; it ends
        // with the runtime.
        tokio::spawn(async move {
            signals.wait().await;
            let _ = stop_tx.send(true);
        });
        loadgen::run(config, listener, stop_rx).await;
        Ok(Status::Clean)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            listen_addr(":8080").unwrap(),
            "0.0.0.0:8080".parse().unwrap()
        );
        assert_eq!(
            listen_addr("127.0.0.1:0").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(listen_addr("[::1]:9").unwrap(), "[::1]:9".parse().unwrap());
        assert!(listen_addr("localhost:80").is_err());
        assert!(listen_addr("8080").is_err());
    }

    #[test]
    fn targets_must_be_plain_http_with_a_host() {
        assert_eq!(target_url("http://web.shop:8080/x").unwrap().path(), "/x");
        assert!(target_url("https://web").unwrap_err().contains("no TLS"));
        assert!(target_url("web:8080").is_err());
        assert!(target_url("ftp://web").is_err());
        assert!(target_url("http://").is_err());
        assert!(target_url("not a url").is_err());
    }

    #[test]
    fn numeric_ranges() {
        assert!(fraction("0.2").is_ok());
        assert!(fraction("1").is_ok());
        assert!(fraction("1.5").is_err());
        assert!(fraction("-0.1").is_err());
        assert!(fraction("NaN").is_err());
        assert!(seconds("0").is_err());
        assert!(seconds("2").is_ok());
    }

    #[test]
    fn header_fields_reject_control_characters() {
        assert!(header_text("us-east-1a").is_ok());
        assert!(header_text("a\nb").is_err());
        assert!(header_text(" ").is_err());
    }
}

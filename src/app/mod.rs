//! The test application the real backends (local processes, kind pods) run:
//! [`echo`] is the zone-labelled backend, [`loadgen`] the open-loop client
//! that records which zone served each request. Both export Prometheus text
//! ([`metrics`]) and stop gracefully on SIGTERM/SIGINT.
//!
//! Both run on a current-thread Tokio runtime with hyper's HTTP/1.1 server
//! and client; the CLI glue is `crate::cli::app`.

pub mod echo;
pub mod loadgen;
pub mod metrics;
pub mod recorder;

use std::convert::Infallible;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// Header carrying the serving zone.
pub const ZONE_HEADER: &str = "x-zonechaos-zone";
/// Header carrying the serving pod.
pub const POD_HEADER: &str = "x-zonechaos-pod";
/// Header carrying the serving version.
pub const VERSION_HEADER: &str = "x-zonechaos-version";

/// Response body type of both servers.
pub type Body = Full<Bytes>;

/// Why a listener could not be opened.
#[derive(Debug)]
pub struct BindError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// The OS error.
    pub source: io::Error,
}

impl BindError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        match self.source.kind() {
            io::ErrorKind::AddrInUse => format!(
                "another process listens on port {}; stop it or pass another --listen \
                 (port 0 picks a free one)",
                self.addr.port()
            ),
            io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges; use a port of 1024 or more".to_owned()
            }
            io::ErrorKind::AddrNotAvailable => format!(
                "{} is not an address of this machine; use 127.0.0.1 or 0.0.0.0",
                self.addr.ip()
            ),
            _ => "check the --listen address".to_owned(),
        }
    }
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot listen on {}: {}", self.addr, self.source)
    }
}

impl std::error::Error for BindError {}

/// Binds a TCP listener (call inside a Tokio runtime).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })
}

/// Writes one line to stdout and flushes it, ignoring failures (a closed
/// stdout must neither panic nor stop a server).
pub fn say(line: &str) {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// SIGTERM and SIGINT, installed up front so that a signal arriving right
/// after startup is caught rather than killing the process.
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (call inside a Tokio runtime).
    pub fn install() -> io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// Resolves at the next SIGTERM or SIGINT.
    pub async fn wait(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A plain-text response.
pub fn text(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// Serves HTTP/1.1 on `listener` with `handler` until `stop` changes (or
/// its sender is dropped). Then it stops accepting, lets every connection
/// finish the request in flight (idle keep-alive connections close at
/// once), and returns when all are done or `drain_limit` has passed.
pub async fn serve<H, F>(
    listener: TcpListener,
    handler: H,
    mut stop: watch::Receiver<bool>,
    drain_limit: Duration,
) where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    // Every connection task holds a sender; recv() returns None once all
    // are dropped, i.e. every connection has finished.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let handler = Arc::clone(&handler);
                    let stop = stop.clone();
                    let open = open_tx.clone();
                    tokio::spawn(async move {
                        serve_connection(stream, peer, handler, stop).await;
                        drop(open);
                    });
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off
                    // instead of spinning.
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    drop(listener);
    drop(open_tx);
    if tokio::time::timeout(drain_limit, open_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open after {} ms; closing them",
            drain_limit.as_millis()
        );
    }
}

async fn serve_connection<H, F>(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    handler: Arc<H>,
    mut stop: watch::Receiver<bool>,
) where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let service = service_fn(move |req| {
        let response = handler(req);
        async move { Ok::<_, Infallible>(response.await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        tracing::debug!("connection from {peer}: {err}");
    }
}

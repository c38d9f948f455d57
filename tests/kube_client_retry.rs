//! The harness's Kubernetes clients as built from a real `kube::Config`
//! (the same builder a kubeconfig goes through), against a loopback HTTP
//! server in this process: kube-rs's retry layer is on for the API client
//! and off for the eviction client (issue 11 item 3). A mocked
//! `tower::Service` would bypass that layer, so it cannot show this.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use zonechaos::backend::kube::api::drain::{Eviction, RefusalKind, evict};
use zonechaos::backend::kube::api::{PodRef, clients_for};

/// The eviction API's refusal when a PodDisruptionBudget allows no
/// disruption (kubernetes pkg/registry/core/pod/storage/eviction.go:
/// 429 TooManyRequests, cause reason DisruptionBudget).
const REFUSAL: &str = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Cannot evict pod as it would violate the pod's disruption budget.","reason":"TooManyRequests","details":{"causes":[{"reason":"DisruptionBudget","message":"The disruption budget test-a-pdb needs 1 healthy pods and has 1 currently"}]},"code":429}"#;

/// The answer to an accepted eviction (201 with a Status).
const ACCEPTED: &str = r#"{"kind":"Status","apiVersion":"v1","status":"Success","code":201}"#;

/// Serves HTTP/1.1 on loopback: request `i` (from 0) gets `answer(i)`.
/// Returns the address and the count of requests seen.
fn serve(answer: fn(usize) -> (u16, &'static str)) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                // Keep-alive: answer requests until the client closes.
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    let mut first = true;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" && !first {
                            break;
                        }
                        first = false;
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let i = count.fetch_add(1, Ordering::SeqCst);
                    let (code, text) = answer(i);
                    let reason = if code == 429 {
                        "Too Many Requests"
                    } else {
                        "Created"
                    };
                    let _ = write!(
                        out,
                        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                        text.len()
                    );
                }
            });
        }
    });
    (addr, seen)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn config(addr: SocketAddr) -> kube::Config {
    let mut config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    config.default_namespace = "zonechaos-test".into();
    config
}

/// One refused eviction is one request, answered at once as a refusal
/// naming the budget: the drain loop sees it and decides.
#[test]
fn a_refused_eviction_is_not_retried_inside_the_client() {
    let (addr, seen) = serve(|_| (429, REFUSAL));
    let rt = runtime();
    let clients = rt.block_on(async { clients_for(config(addr)) }).unwrap();
    let pod = PodRef::new("zonechaos-test", "test-a-0");
    let answer = rt.block_on(evict(&clients.evictions, &pod)).unwrap();
    let Eviction::Refused { kind, pdb, .. } = answer else {
        panic!("not a refusal: {answer:?}")
    };
    assert_eq!(kind, RefusalKind::Budget);
    assert_eq!(pdb.as_deref(), Some("test-a-pdb"));
    assert_eq!(seen.load(Ordering::SeqCst), 1, "requests the server saw");
}

/// The contrast that shows the fake server reaches kube-rs's retry layer:
/// the API client retries the same 429 and succeeds on the second try.
#[test]
fn the_api_client_keeps_kube_rs_retries() {
    let (addr, seen) = serve(|i| {
        if i == 0 {
            (429, REFUSAL)
        } else {
            (201, ACCEPTED)
        }
    });
    let rt = runtime();
    let clients = rt.block_on(async { clients_for(config(addr)) }).unwrap();
    let pod = PodRef::new("zonechaos-test", "test-a-0");
    let answer = rt.block_on(evict(&clients.api, &pod)).unwrap();
    assert!(matches!(answer, Eviction::Evicted), "{answer:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 2, "requests the server saw");
}

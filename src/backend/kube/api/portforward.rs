//! A port-forward to a pod (kube-rs `Api::<Pod>::portforward`, over the
//! `ws` feature) exposed as a local TCP listener on `127.0.0.1:<ephemeral>`,
//! so plain HTTP clients (prometheus-http-query, reqwest) can talk to the
//! in-cluster Prometheus. Each accepted connection opens its own
//! port-forward stream.
//!
//! Tested here: choosing the pod. Not tested here (it needs a real API
//! server speaking the websocket port-forward protocol): the forwarding.

use std::net::SocketAddr;

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::error::ApiError;
use super::wait::conditions::pod_ready;

/// The pod to forward to: a Ready pod if any (first by name), else none.
pub fn pick_pod(pods: &[Pod]) -> Option<&Pod> {
    let mut ready: Vec<&Pod> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && pod_ready(p))
        .collect();
    ready.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    ready.into_iter().next()
}

/// Finds a Ready pod of `selector` in `namespace` (e.g. Prometheus in
/// `zonechaos-monitoring` with `app=prometheus`).
pub async fn find_pod(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<String, ApiError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let what = format!("pods {selector} in {namespace}");
    let pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| ApiError::from_kube("list", what.clone(), e))?
        .items;
    pick_pod(&pods)
        .and_then(|p| p.metadata.name.clone())
        .ok_or_else(|| ApiError::Invalid {
            object: what,
            problem: format!("no Ready pod among {} found", pods.len()),
            hint: "check that Prometheus is installed and running (kubectl get pods -l ...)".into(),
        })
}

/// A running port-forward; dropping it stops the listener.
#[derive(Debug)]
pub struct PortForward {
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl PortForward {
    /// The local address (`127.0.0.1:<port>`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local)
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forwards `127.0.0.1:<ephemeral>` to `port` of pod `namespace/pod`.
pub async fn port_forward(
    client: &Client,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<PortForward, ApiError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| local_error(namespace, pod, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| local_error(namespace, pod, e))?;
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = pod.to_owned();
    let task = tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                continue;
            };
            let api = api.clone();
            let pod = pod.clone();
            tokio::spawn(async move {
                if let Err(e) = forward(&api, &pod, port, conn).await {
                    tracing::warn!(pod, port, "port-forward connection failed: {e}");
                }
            });
        }
    });
    Ok(PortForward { local, task })
}

async fn forward(api: &Api<Pod>, pod: &str, port: u16, mut conn: TcpStream) -> Result<(), String> {
    let mut pf = api
        .portforward(pod, &[port])
        .await
        .map_err(|e| e.to_string())?;
    let mut upstream = pf
        .take_stream(port)
        .ok_or_else(|| format!("no stream for port {port}"))?;
    tokio::io::copy_bidirectional(&mut conn, &mut upstream)
        .await
        .map_err(|e| e.to_string())?;
    drop(upstream);
    pf.join().await.map_err(|e| e.to_string())
}

fn local_error(namespace: &str, pod: &str, e: std::io::Error) -> ApiError {
    ApiError::Invalid {
        object: format!("port-forward to Pod {namespace}/{pod}"),
        problem: format!("cannot listen on 127.0.0.1: {e}"),
        hint: "check local socket limits".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ready: bool) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        }))
        .unwrap()
    }

    #[test]
    fn picks_a_ready_pod() {
        let pods = vec![
            pod("prom-b", true),
            pod("prom-a", false),
            pod("prom-c", true),
        ];
        assert_eq!(
            pick_pod(&pods).and_then(|p| p.metadata.name.as_deref()),
            Some("prom-b")
        );
        assert!(pick_pod(&[pod("x", false)]).is_none());
    }
}

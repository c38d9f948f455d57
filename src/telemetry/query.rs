//! The PromQL client every backend uses: prometheus-http-query over
//! reqwest, driven from the harness's synchronous runner by a small
//! current-thread runtime. `local` points it at its own Prometheus, `kind`
//! and `existing` at a port-forward to the in-cluster one.

use std::time::Duration;

use crate::telemetry::promql::Series;

/// An HTTP client whose requests give up after `timeout`, and the
/// current-thread runtime the synchronous runner drives it with; `what`
/// names the endpoint in errors.
pub(crate) fn blocking_http(
    what: &str,
    timeout: Duration,
) -> Result<(reqwest::Client, tokio::runtime::Runtime), String> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client for {what}: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime for {what}: {e}"))?;
    Ok((http, runtime))
}

/// A PromQL endpoint.
pub struct PromQuery {
    url: String,
    client: prometheus_http_query::Client,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for PromQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromQuery").field("url", &self.url).finish()
    }
}

impl PromQuery {
    /// A client for the Prometheus at `url` (`http://host:port`); every
    /// request gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<PromQuery, String> {
        let (http, runtime) = blocking_http(url, timeout)?;
        let client = prometheus_http_query::Client::from(http, url)
            .map_err(|e| format!("bad Prometheus address {url}: {e}"))?;
        Ok(PromQuery {
            url: url.to_owned(),
            client,
            runtime,
        })
    }

    /// The address queried.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A range query over unix seconds `[start, end]` (widened to whole
    /// seconds, as the API takes them) at `step_s` resolution. An empty
    /// answer is an empty list: the caller decides that it means "no data".
    pub fn range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step_s: f64,
    ) -> Result<Vec<Series>, String> {
        let answer = self
            .runtime
            .block_on(
                self.client
                    .query_range(query, start.floor() as i64, end.ceil() as i64, step_s)
                    .get(),
            )
            .map_err(|e| format!("PromQL range query to {} failed: {e}", self.url))?;
        let Some(matrix) = answer.data().as_matrix() else {
            return Err(format!(
                "PromQL range query to {} did not answer a matrix: {query}",
                self.url
            ));
        };
        Ok(matrix
            .iter()
            .map(|v| Series {
                labels: v
                    .metric()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                samples: v
                    .samples()
                    .iter()
                    .map(|s| (s.timestamp(), s.value()))
                    .collect(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_bad_address() {
        let e = PromQuery::new("not a url", Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("not a url"), "{e}");
    }

    #[test]
    fn a_dead_endpoint_is_an_error_naming_it() {
        let port = crate::process::free_port().expect("free port");
        let q = PromQuery::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2))
            .expect("client");
        let e = q.range("up", 0.0, 10.0, 1.0).unwrap_err();
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    }
}

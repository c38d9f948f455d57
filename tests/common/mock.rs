//! A scripted mock Kubernetes API server (tower-test) shared by the API
//! and backend tests: each test lists the exact requests it expects
//! (method, path, query, content type, body) and the canned answers; the
//! server task asserts every request in order and the test fails if a
//! request differs, is missing or is extra.
#![allow(dead_code)]

use http_body_util::BodyExt;
use hyper::http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::query::parse_query;

/// One expected request and its canned answer.
#[derive(Clone)]
pub struct Exchange {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub content_type: Option<&'static str>,
    /// The request body must equal this JSON.
    pub body: Option<Value>,
    /// The request body must contain these fields (recursively).
    pub body_subset: Option<Value>,
    pub status: u16,
    pub reply: Value,
}

pub fn exchange(method: &'static str, path: &str) -> Exchange {
    Exchange {
        method,
        path: path.to_owned(),
        query: Vec::new(),
        content_type: None,
        body: None,
        body_subset: None,
        status: 200,
        reply: json!({}),
    }
}

pub fn get(path: &str) -> Exchange {
    exchange("GET", path)
}
pub fn patch(path: &str) -> Exchange {
    exchange("PATCH", path)
}
pub fn post(path: &str) -> Exchange {
    exchange("POST", path)
}
pub fn delete(path: &str) -> Exchange {
    exchange("DELETE", path)
}

impl Exchange {
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.query = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self
    }
    pub fn content_type(mut self, ct: &'static str) -> Self {
        self.content_type = Some(ct);
        self
    }
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn body_subset(mut self, body: Value) -> Self {
        self.body_subset = Some(body);
        self
    }
    pub fn reply(mut self, status: u16, reply: Value) -> Self {
        self.status = status;
        self.reply = reply;
        self
    }
    /// Answers with a `Status` failure.
    pub fn fail(self, code: u16, reason: &str, message: &str) -> Self {
        let status = status(code, reason, message);
        self.reply(code, status)
    }
}

pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

pub fn is_subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| is_subset(v, av))),
        _ => expected == actual,
    }
}

/// A client whose API server plays `script` in order. Await the handle at
/// the end: it fails when a request differed or the script was not used up.
pub fn scripted(script: Vec<Exchange>) -> (Client, JoinHandle<()>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        for (i, ex) in script.into_iter().enumerate() {
            let (req, send) = handle
                .next_request()
                .await
                .unwrap_or_else(|| panic!("request {i} ({} {}) never came", ex.method, ex.path));
            let what = format!("request {i} {} {}", req.method(), req.uri());
            assert_eq!(req.method().as_str(), ex.method, "{what}");
            assert_eq!(req.uri().path(), ex.path, "{what}");
            let mut want_q = ex.query.clone();
            want_q.sort();
            assert_eq!(parse_query(req.uri().query()), want_q, "{what}: query");
            if let Some(ct) = ex.content_type {
                let got = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok());
                assert_eq!(got, Some(ct), "{what}: content type");
            }
            let bytes = req.into_body().collect().await.unwrap().to_bytes();
            if ex.body.is_some() || ex.body_subset.is_some() {
                let got: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e})"));
                if let Some(want) = &ex.body {
                    assert_eq!(&got, want, "{what}: body");
                }
                if let Some(want) = &ex.body_subset {
                    assert!(is_subset(want, &got), "{what}: body {got} lacks {want}");
                }
            }
            let resp = Response::builder()
                .status(ex.status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&ex.reply).unwrap()))
                .unwrap();
            send.send_response(resp);
        }
        // Nothing may call after the script: the server ends when the last
        // client (background tasks' clones included) is dropped.
        if let Some((req, _)) = handle.next_request().await {
            panic!(
                "unexpected request after the script: {} {}",
                req.method(),
                req.uri()
            );
        }
    });
    (Client::new(service, "zc"), server)
}

/// Drops the client (so a request the code never made ends the script
/// instead of hanging) and awaits the server task, propagating its
/// assertion failures.
pub async fn finish(client: Client, server: JoinHandle<()>) {
    drop(client);
    if let Err(e) = server.await {
        std::panic::resume_unwind(e.into_panic());
    }
}

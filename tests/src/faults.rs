//! A fault-injecting HTTP proxy for the AWS emulator.
//!
//! It listens on 127.0.0.1 and forwards every request to the emulator, except
//! a share of them, which it answers itself with the error each AWS service
//! sends when it throttles (S3's `SlowDown`, EC2's `RequestLimitExceeded`,
//! IAM's `Throttling`, the JSON services' `ThrottlingException`), or with an
//! HTTP 500 or 503 in that service's error shape. Faulted requests never
//! reach the emulator, as AWS refuses a throttled call before acting on it.
//!
//! It can also go down (closing its listener and every open connection, as
//! an emulator that dies does) and come back on the same address. So can
//! [`TcpRelay`], a plain TCP relay for servers that do not speak HTTP (a
//! PostgreSQL state backend).
//!
//! ```no_run
//! let proxy = cairn_tests::faults::FaultProxy::start("http://127.0.0.1:5000", 0.2, Some(7));
//! // point AWS_ENDPOINT_URL at proxy.endpoint(), run the program, then:
//! println!("{:?}", proxy.counts());
//! ```

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

/// What the proxy answers in place of the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The service's own throttling error.
    Throttling,
    /// HTTP 500 in the service's error shape.
    InternalError,
    /// HTTP 503 in the service's error shape.
    Unavailable,
}

/// The requests a proxy has seen: forwarded, and faulted by service and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests passed on to the emulator.
    pub forwarded: u64,
    /// Requests answered with a fault, per (service, fault).
    pub faults: BTreeMap<(String, Fault), u64>,
}

impl Counts {
    /// Faulted requests of one kind, over every service.
    pub fn of(&self, fault: Fault) -> u64 {
        self.faults.iter().filter(|((_, f), _)| *f == fault).map(|(_, n)| n).sum()
    }

    /// Every faulted request.
    pub fn faulted(&self) -> u64 {
        self.faults.values().sum()
    }
}

struct Shared {
    upstream: String,
    rate: Mutex<f64>,
    rng: Mutex<fastrand::Rng>,
    counts: Mutex<Counts>,
    /// Requests seen (forwarded or faulted), for `go_down_after`.
    seen: AtomicU64,
    /// Goes down once `seen` reaches this (0: never).
    down_after: AtomicU64,
    up: Arc<watch::Sender<bool>>,
    /// Logs each request and its fate to stderr (`CAIRN_FAULT_LOG=1`).
    log: bool,
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    switch: Switch,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://host:port`) that faults `rate`
    /// (0 to 1) of the requests, drawn from `seed` (a random one when `None`;
    /// it is printed, so that a failed run can be repeated).
    pub fn start(upstream: &str, rate: f64, seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| fastrand::u64(..));
        eprintln!("fault proxy: {rate} of requests to {upstream} faulted, seed {seed}");
        let up = Arc::new(watch::channel(true).0);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            rate: Mutex::new(rate),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            counts: Mutex::default(),
            seen: AtomicU64::new(0),
            down_after: AtomicU64::new(0),
            up: up.clone(),
            log: std::env::var_os("CAIRN_FAULT_LOG").is_some(),
        });
        let serving = shared.clone();
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let switch = Switch::start(up, move |stream| {
            let (shared, client) = (serving.clone(), client.clone());
            async move {
                let service = hyper::service::service_fn(move |req| handle(req, shared.clone(), client.clone()));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        });
        Self { switch, shared }
    }

    /// The URL to give as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.switch.address)
    }

    /// What the proxy has seen so far.
    pub fn counts(&self) -> Counts {
        self.shared.counts.lock().expect("counts").clone()
    }

    /// Changes the share of requests faulted from now on.
    pub fn set_rate(&self, rate: f64) {
        *self.shared.rate.lock().expect("rate") = rate;
    }

    /// Goes down once it has seen `requests` more requests: the one that
    /// reaches the count is dropped unanswered, the listener closes and every
    /// open connection is cut.
    pub fn go_down_after(&self, requests: u64) {
        let at = self.shared.seen.load(Ordering::SeqCst) + requests.max(1);
        self.shared.down_after.store(at, Ordering::SeqCst);
    }

    /// Goes down now.
    pub fn go_down(&self) {
        self.switch.go_down();
    }

    /// Whether it is down.
    pub fn is_down(&self) -> bool {
        self.switch.is_down()
    }

    /// Listens again on the same address.
    pub fn come_back(&self) {
        self.shared.down_after.store(0, Ordering::SeqCst);
        self.switch.come_back();
    }
}

/// A TCP relay on 127.0.0.1 to a server, that can go down and come back.
pub struct TcpRelay {
    switch: Switch,
}

impl TcpRelay {
    /// Relays connections to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream.to_owned();
        let switch = Switch::start(Arc::new(watch::channel(true).0), move |mut stream| {
            let upstream = upstream.clone();
            async move {
                if let Ok(mut server) = TcpStream::connect(&upstream).await {
                    let _ = server.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut server).await;
                }
            }
        });
        Self { switch }
    }

    /// The relay's `host:port`.
    pub fn address(&self) -> SocketAddr {
        self.switch.address
    }

    /// Closes the listener and cuts every connection.
    pub fn go_down(&self) {
        self.switch.go_down();
    }

    /// Listens again on the same address.
    pub fn come_back(&self) {
        self.switch.come_back();
    }
}

/// A listener on 127.0.0.1, served on a thread and runtime of its own (so
/// that sync and async tests alike can hold one), that can go down: closing
/// the listener and cutting every open connection, and come back on the same
/// address. It stops when dropped.
struct Switch {
    address: SocketAddr,
    up: Arc<watch::Sender<bool>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Switch {
    fn start<H, F>(up: Arc<watch::Sender<bool>>, handler: H) -> Self
    where
        H: Fn(TcpStream) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let address = listener.local_addr().expect("the listener's address");
        let (stop, stopped) = oneshot::channel();
        let serving = up.clone();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                tokio::select! {
                    () = serve(listener, address, serving, handler) => {}
                    _ = stopped => {}
                }
            });
        });
        Self { address, up, stop: Some(stop), thread: Some(thread) }
    }

    fn go_down(&self) {
        self.up.send_replace(false);
    }

    fn is_down(&self) -> bool {
        !*self.up.borrow()
    }

    fn come_back(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections while up; when down, closes the listener and cuts
/// every connection, then binds the same address again once up.
async fn serve<H, F>(first: std::net::TcpListener, address: SocketAddr, up: Arc<watch::Sender<bool>>, handler: H)
where
    H: Fn(TcpStream) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let mut up = up.subscribe();
    let mut first = Some(first);
    loop {
        let _ = up.wait_for(|up| *up).await;
        let listener = match first.take() {
            Some(listener) => tokio::net::TcpListener::from_std(listener).expect("the proxy's listener"),
            None => rebind(address).await,
        };
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    connections.spawn(handler(stream));
                }
                changed = up.changed() => {
                    if changed.is_err() || !*up.borrow() {
                        break;
                    }
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        connections.shutdown().await;
    }
}

async fn rebind(address: SocketAddr) -> tokio::net::TcpListener {
    loop {
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => return listener,
            // The old sockets may hold the port a moment longer.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}

type Body = BoxBody<Bytes, hyper::Error>;

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    client: Client<HttpConnector, Full<Bytes>>,
) -> Result<Response<Body>, Infallible> {
    let seen = shared.seen.fetch_add(1, Ordering::SeqCst) + 1;
    let down_after = shared.down_after.load(Ordering::SeqCst);
    if down_after != 0 && seen >= down_after {
        shared.up.send_replace(false);
        // Never answered: the connection is cut as the proxy goes down.
        std::future::pending::<()>().await;
    }
    let service = service_of(&req);
    let protocol = Protocol::of(&service, &req);
    let (mut parts, body) = req.into_parts();
    // Read the request through, as a server does before it answers.
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let fault = {
        let rate = *shared.rate.lock().expect("rate");
        let mut rng = shared.rng.lock().expect("rng");
        (rng.f64() < rate).then(|| [Fault::Throttling, Fault::InternalError, Fault::Unavailable][rng.usize(..3)])
    };
    if shared.log {
        let fate = fault.map_or_else(|| "forwarded".to_owned(), |f| format!("{f:?}"));
        eprintln!("fault proxy: #{seen} {service} {}: {fate}", action_of(&parts, &body));
    }
    if let Some(fault) = fault {
        *shared.counts.lock().expect("counts").faults.entry((service.clone(), fault)).or_default() += 1;
        return Ok(error_response(protocol, fault));
    }
    shared.counts.lock().expect("counts").forwarded += 1;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("{}{path}", shared.upstream).parse().expect("the upstream URI");
    match client.request(Request::from_parts(parts, Full::new(body))).await {
        Ok(resp) => Ok(resp.map(|b| b.boxed())),
        Err(e) => Ok(plain(StatusCode::BAD_GATEWAY, &[], format!("fault proxy: the emulator did not answer: {e}"))),
    }
}

/// The API action of a request, for the log: the query protocols' `Action`,
/// the JSON protocols' `X-Amz-Target`, else the method and path.
fn action_of(parts: &hyper::http::request::Parts, body: &[u8]) -> String {
    let form = String::from_utf8_lossy(body);
    if let Some(action) = form.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return action.to_owned();
    }
    match parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        Some(target) => target.to_owned(),
        None => format!("{} {}", parts.method, parts.uri.path()),
    }
}

/// The signing name in the request's SigV4 credential scope
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`).
fn service_of<B>(req: &Request<B>) -> String {
    req.headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|scope| scope.split([',', ' ']).next())
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unknown")
        .to_owned()
}

/// How a service shapes its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// S3: `<Error><Code>…`.
    RestXml,
    /// EC2: `<Response><Errors><Error><Code>…`.
    Ec2Query,
    /// IAM, STS, CloudWatch: `<ErrorResponse><Error><Type>…<Code>…`.
    AwsQuery,
    /// DynamoDB, KMS, ECR, …: `{"__type": "…"}`.
    AwsJson,
    /// EKS, Managed Prometheus: the code in `x-amzn-ErrorType`.
    RestJson,
}

impl Protocol {
    fn of<B>(service: &str, req: &Request<B>) -> Self {
        let content_type = req.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        match service {
            "s3" => Self::RestXml,
            "ec2" => Self::Ec2Query,
            "eks" | "aps" => Self::RestJson,
            _ if content_type.starts_with("application/x-amz-json") => Self::AwsJson,
            _ if content_type.starts_with("application/x-www-form-urlencoded") => Self::AwsQuery,
            _ => Self::RestJson,
        }
    }
}

/// The error AWS sends for `fault` in `protocol`'s shape.
fn error_response(protocol: Protocol, fault: Fault) -> Response<Body> {
    let id = uuid::Uuid::new_v4().to_string();
    let (status, code, message) = match (protocol, fault) {
        (Protocol::RestXml, Fault::Throttling) => (503, "SlowDown", "Please reduce your request rate."),
        (Protocol::Ec2Query, Fault::Throttling) => (503, "RequestLimitExceeded", "Request limit exceeded."),
        (Protocol::AwsQuery, Fault::Throttling) => (400, "Throttling", "Rate exceeded"),
        (Protocol::AwsJson, Fault::Throttling) => (400, "ThrottlingException", "Rate exceeded"),
        (Protocol::RestJson, Fault::Throttling) => (429, "ThrottlingException", "Rate exceeded"),
        (Protocol::RestJson, Fault::InternalError) => (500, "ServerException", "An internal error occurred."),
        (Protocol::AwsJson, Fault::InternalError) => (500, "InternalFailure", "An internal error occurred."),
        (_, Fault::InternalError) => (500, "InternalError", "We encountered an internal error. Please try again."),
        (Protocol::RestJson, Fault::Unavailable) => (503, "ServiceUnavailableException", "Service unavailable."),
        (_, Fault::Unavailable) => (503, "ServiceUnavailable", "Service is unable to handle request."),
    };
    let status = StatusCode::from_u16(status).expect("an HTTP status");
    match protocol {
        Protocol::RestXml => xml(
            status,
            format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>"),
        ),
        Protocol::Ec2Query => xml(
            status,
            format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>\
                 <RequestID>{id}</RequestID></Response>"
            ),
        ),
        Protocol::AwsQuery => xml(
            status,
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>{id}</RequestId></ErrorResponse>",
                if status.is_server_error() { "Receiver" } else { "Sender" }
            ),
        ),
        Protocol::AwsJson => plain(
            status,
            &[("content-type", "application/x-amz-json-1.1"), ("x-amzn-requestid", &id)],
            serde_json::json!({"__type": code, "message": message}).to_string(),
        ),
        Protocol::RestJson => plain(
            status,
            &[("content-type", "application/json"), ("x-amzn-errortype", code), ("x-amzn-requestid", &id)],
            serde_json::json!({"message": message}).to_string(),
        ),
    }
}

fn xml(status: StatusCode, body: String) -> Response<Body> {
    plain(status, &[("content-type", "text/xml")], format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"))
}

fn plain(status: StatusCode, headers: &[(&str, &str)], body: String) -> Response<Body> {
    let mut resp = Response::builder().status(status);
    for (name, value) in headers {
        resp = resp.header(*name, *value);
    }
    resp.body(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed()).expect("a response")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(auth: &str, content_type: &str) -> Request<()> {
        Request::builder().header("authorization", auth).header("content-type", content_type).body(()).unwrap()
    }

    const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=testing/20261203/us-east-1/dynamodb/aws4_request, \
                          SignedHeaders=host;x-amz-date, Signature=abc";

    #[test]
    fn the_service_comes_from_the_credential_scope() {
        assert_eq!(service_of(&request(SIGNED, "")), "dynamodb");
        assert_eq!(service_of(&request("", "")), "unknown");
    }

    #[test]
    fn each_protocol_gets_its_own_error_shape() {
        let r = request(SIGNED, "application/x-amz-json-1.0");
        assert_eq!(Protocol::of("dynamodb", &r), Protocol::AwsJson);
        assert_eq!(Protocol::of("iam", &request("", "application/x-www-form-urlencoded")), Protocol::AwsQuery);
        assert_eq!(Protocol::of("s3", &r), Protocol::RestXml);
        assert_eq!(Protocol::of("eks", &request("", "application/json")), Protocol::RestJson);
        let throttled = error_response(Protocol::RestJson, Fault::Throttling);
        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(throttled.headers()["x-amzn-errortype"], "ThrottlingException");
        assert_eq!(error_response(Protocol::Ec2Query, Fault::Throttling).status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            error_response(Protocol::AwsQuery, Fault::InternalError).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}

//! A release function in a process of its own, fed through a minimal Lambda
//! Runtime API: the bench's stand-in for the Lambda service.

use crate::share::CpuShare;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

/// The Runtime API's side: events in, responses (and errors) out.
pub struct Runtime {
    addr: String,
    events: mpsc::UnboundedSender<String>,
    responses: mpsc::UnboundedReceiver<(Instant, Value)>,
    /// When the function first asked for an event: its Init ended.
    pub first_poll: Arc<std::sync::Mutex<Option<Instant>>>,
    /// Run once at that first ask, before the event is handed over.
    at_first_poll: AtFirstPoll,
}

type AtFirstPoll = Arc<std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>>;

async fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.ok()?;
    Some((path, body))
}

async fn serve(
    sock: TcpStream,
    events: Arc<Mutex<mpsc::UnboundedReceiver<String>>>,
    responses: mpsc::UnboundedSender<(Instant, Value)>,
    first_poll: Arc<std::sync::Mutex<Option<Instant>>>,
    at_first_poll: AtFirstPoll,
) {
    let mut r = BufReader::new(sock);
    let mut next_id = 0u64;
    while let Some((path, body)) = read_request(&mut r).await {
        let reply = if path.ends_with("/invocation/next") {
            first_poll.lock().unwrap().get_or_insert_with(Instant::now);
            let hook = at_first_poll.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
            let Some(event) = events.lock().await.recv().await else {
                return;
            };
            next_id += 1;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: req-{next_id}\r\n\
                 lambda-runtime-deadline-ms: 99999999999999\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\
                 content-length: {}\r\n\r\n{event}",
                event.len()
            )
        } else {
            let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let value = if path.ends_with("/response") {
                value
            } else {
                json!({ "error": value, "path": path })
            };
            let _ = responses.send((Instant::now(), value));
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_string()
        };
        if r.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

impl Runtime {
    async fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let (etx, erx) = mpsc::unbounded_channel();
        let (rtx, rrx) = mpsc::unbounded_channel();
        let erx = Arc::new(Mutex::new(erx));
        let first_poll = Arc::new(std::sync::Mutex::new(None));
        let polled = first_poll.clone();
        let at_first_poll: AtFirstPoll = Arc::new(std::sync::Mutex::new(None));
        let hook = at_first_poll.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = l.accept().await {
                let (erx, rtx) = (erx.clone(), rtx.clone());
                tokio::spawn(serve(sock, erx, rtx, polled.clone(), hook.clone()));
            }
        });
        Self {
            addr,
            events: etx,
            responses: rrx,
            first_poll,
            at_first_poll,
        }
    }
}

/// A function process and its Runtime API; killed when dropped.
pub struct Function {
    pub child: tokio::process::Child,
    pub runtime: Runtime,
    pub started: Instant,
    /// Bytes the function has written to stdout and stderr: what Lambda
    /// sends to CloudWatch Logs (less its own few platform lines).
    log_bytes: Arc<AtomicU64>,
}

/// Reads a function's output to its end, counting the bytes.
fn drain(out: Option<impl tokio::io::AsyncRead + Unpin + Send + 'static>, count: Arc<AtomicU64>) {
    let Some(mut out) = out else { return };
    // `BENCH_FUNCTION_LOG`: a file every started function's lines are added to.
    let mut keep = std::env::var_os("BENCH_FUNCTION_LOG").and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        while let Ok(n) = out.read(&mut buf).await {
            if n == 0 {
                break;
            }
            count.fetch_add(n as u64, Ordering::Relaxed);
            if let Some(file) = keep.as_mut() {
                let _ = std::io::Write::write_all(file, &buf[..n]);
            }
        }
    });
}

impl Function {
    pub async fn start(bin: &Path, env: &[(String, String)]) -> Self {
        Self::start_in(bin, env, None).await
    }

    /// Starts the function inside `share`'s CPU quota, when given, so all
    /// of its Init runs under it. There a shell is moved into the group
    /// first and waits; the clock starts when it is told to exec the
    /// function. Moving a process into a cgroup v1 group waits for an RCU
    /// grace period (2-56 ms here, from one start to the next), which
    /// Lambda's start does not have: timed from before the move, it fell on
    /// the empty function's cold start and the issuer's unevenly.
    ///
    /// DynamoDB never idles, but DynamoDB Local did during that wait, and a
    /// JVM woken from idle answers a cold function's first calls slower: it
    /// is kept answering until the function starts.
    pub async fn start_in(bin: &Path, env: &[(String, String)], share: Option<&CpuShare>) -> Self {
        Self::start_with(bin, env, share, None).await
    }

    /// [`Function::start_in`], with `at_first_poll` run when the function
    /// first asks for an event (its Init over), before it gets one.
    pub async fn start_with(
        bin: &Path,
        env: &[(String, String)],
        share: Option<&CpuShare>,
        at_first_poll: Option<Box<dyn FnOnce() + Send>>,
    ) -> Self {
        let runtime = Runtime::start().await;
        *runtime.at_first_poll.lock().unwrap() = at_first_poll;
        let mut cmd = match share {
            Some(share) => {
                let mut cmd = tokio::process::Command::new("sh");
                cmd.arg("-c")
                    .arg("read -r _ && exec \"$0\"")
                    .arg(bin)
                    .stdin(Stdio::piped());
                share.confine(&mut cmd);
                cmd
            }
            None => tokio::process::Command::new(bin),
        };
        cmd.envs(env.iter().cloned())
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            // The share's size, which the function's default `WARM_UP` follows.
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                share.map_or(512, CpuShare::mb).to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        if let Some(stdin) = child.stdin.as_mut() {
            // The shell started and waits in the group; a full quota period
            // passes, so the function starts with the group's whole quota.
            keep_storage_answering(Duration::from_millis(250)).await;
            started = Instant::now();
            stdin.write_all(b"go\n").await.expect("the waiting shell");
            stdin.flush().await.expect("the waiting shell");
        }
        let log_bytes = Arc::new(AtomicU64::new(0));
        drain(child.stdout.take(), log_bytes.clone());
        drain(child.stderr.take(), log_bytes.clone());
        Self {
            child,
            runtime,
            started,
            log_bytes,
        }
    }

    /// The bytes logged so far. A line is written before its request's
    /// answer; give the reader a moment before counting.
    pub async fn log_bytes(&self) -> u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.log_bytes.load(Ordering::Relaxed)
    }

    pub async fn invoke(&mut self, event: &str) -> (Instant, Value) {
        self.runtime.events.send(event.to_string()).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.runtime.responses.recv())
            .await
            .expect("the function answered within 30 s")
            .expect("a response")
    }

    pub fn peak_rss_mib(&self) -> f64 {
        let pid = self.child.id().unwrap_or(0);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }
}

/// Waits `d` while DynamoDB Local (the bench's own `AWS_ENDPOINT_URL_DYNAMODB`)
/// answers a `ListTables` every 3 ms; only waits where it cannot be reached,
/// or with `BENCH_STORAGE_IDLE` set (the launcher before, to compare).
async fn keep_storage_answering(d: Duration) {
    let end = Instant::now() + d;
    let endpoint = match std::env::var_os("BENCH_STORAGE_IDLE") {
        Some(_) => String::new(),
        None => std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
    };
    let authority = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {authority}\r\n\
         Content-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: DynamoDB_20120810.ListTables\r\n\
         X-Amz-Date: 20260101T000000Z\r\n\
         Authorization: AWS4-HMAC-SHA256 \
         Credential=bench/20260101/us-east-1/dynamodb/aws4_request, \
         SignedHeaders=host, Signature=00\r\n\
         Content-Length: 2\r\n\r\n{{}}"
    );
    let answering = async {
        let Ok(mut conn) = TcpStream::connect(&authority).await else {
            return;
        };
        let mut answer = [0u8; 4096];
        while Instant::now() + Duration::from_millis(3) < end {
            let answered = match conn.write_all(request.as_bytes()).await {
                Ok(()) => conn.read(&mut answer).await.is_ok_and(|n| n > 0),
                Err(_) => false,
            };
            if !answered {
                break;
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    };
    // A storage that stops answering does not hold the start up.
    let _ = tokio::time::timeout_at(end.into(), answering).await;
    tokio::time::sleep_until(end.into()).await;
}

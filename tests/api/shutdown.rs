//! SIGTERM: the server stops accepting, finishes the requests in flight, and exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::helpers::{TestDatabase, test_env};

/// Starts `hoithi serve` and reads its JSON log until it says which port it bound.
fn start_server(env: &std::collections::HashMap<String, String>) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hoithi"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning hoithi serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
                && event["message"] == "hoithi listening"
            {
                let _ = tx.send(event["port"].as_u64());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server logged its port")
        .and_then(|p| u16::try_from(p).ok())
        .expect("a port number");
    (child, port)
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_exits_zero() {
    let db = TestDatabase::create().await;
    let env = test_env(&db.url, "hoithi_test:shutdown:");
    let outcome = tokio::task::spawn_blocking(move || {
        let (mut child, port) = start_server(&env);

        // A request whose body is still arriving when the signal comes.
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
        let body = br#"{"in_flight": true}"#;
        write!(
            stream,
            "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .expect("write head");
        stream.write_all(&body[..5]).expect("first part of the body");
        std::thread::sleep(Duration::from_millis(300));

        kill(Pid::from_raw(i32::try_from(child.id()).expect("pid")), Signal::SIGTERM).expect("SIGTERM");
        std::thread::sleep(Duration::from_millis(500));
        let still_running = child.try_wait().expect("try_wait").is_none();

        stream.write_all(&body[5..]).expect("rest of the body");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("reading the response");

        let status = wait_for_exit(&mut child, Duration::from_secs(15));
        if status.is_none() {
            let _ = child.kill();
        }
        (still_running, response, status)
    })
    .await
    .expect("client thread");

    let (still_running, response, status) = outcome;
    assert!(
        still_running,
        "the server must wait for the request in flight"
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""in_flight":true"#), "{response}");
    let status = status.expect("the server exited after finishing the request");
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
}

//! The model client against the fake server.

use std::time::{Duration, Instant};

use anrf_gen::GenError;
use anrf_gen::client::{
    ApiKey, ChatBackend, ChatClient, ClientConfig, Message, RetryNotice, Sampling,
};

use crate::fake_server::{FakeServer, Step};

const KEY: &str = "sk-test-do-not-leak-4242";

fn client(server: &FakeServer) -> ChatClient {
    let mut config = ClientConfig::new(server.endpoint.clone());
    "fake-model".clone_into(&mut config.model);
    config.api_key = Some(ApiKey::new(KEY));
    config.timeout = Duration::from_secs(5);
    config.max_retries = 3;
    config.backoff_base = Duration::from_millis(10);
    config.backoff_max = Duration::from_millis(50);
    ChatClient::new(config)
}

fn ask(client: &ChatClient) -> Result<anrf_gen::client::Reply, GenError> {
    client.chat(
        &[Message::system("be brief"), Message::user("say hi")],
        Sampling::default(),
    )
}

#[test]
fn a_good_reply_is_returned_with_the_request_well_formed() {
    let server = FakeServer::start(vec![Step::reply("hello")]);
    let reply = ask(&client(&server)).unwrap();
    assert_eq!(reply.content, "hello");
    assert_eq!(reply.model, "fake-model");
    assert_eq!(reply.attempts, 1);

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body = seen[0].json();
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "say hi");
    assert_eq!(body["stream"], false);
}

#[test]
fn http_429_then_success_retries_after_the_servers_delay() {
    let server = FakeServer::start(vec![Step::too_many(0), Step::reply("after the wait")]);
    let reply = ask(&client(&server)).unwrap();
    assert_eq!(reply.content, "after the wait");
    assert_eq!(reply.attempts, 2);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn server_errors_until_the_retry_budget_runs_out_give_up_clearly() {
    let server = FakeServer::start(vec![
        Step::status(500, "boom 1"),
        Step::status(502, "boom 2"),
        Step::status(503, "boom 3"),
        Step::status(503, "still down"),
    ]);
    let err = ask(&client(&server)).unwrap_err();
    assert!(
        matches!(
            err,
            GenError::GaveUp {
                attempts: 4,
                status: 503,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("failed 4 times"), "{message}");
    assert!(message.contains("still down"), "{message}");
    assert_eq!(server.seen().len(), 4);
}

#[test]
fn a_malformed_reply_is_an_error_that_says_what_is_wrong() {
    let server = FakeServer::start(vec![Step::status(200, "<html>not json</html>")]);
    let err = ask(&client(&server)).unwrap_err();
    assert!(matches!(err, GenError::Malformed { .. }), "{err:?}");
    assert!(
        err.to_string().contains("not a JSON chat completion"),
        "{err}"
    );

    let server = FakeServer::start(vec![Step::status(200, r#"{"id":"x","choices":[]}"#)]);
    let err = ask(&client(&server)).unwrap_err();
    assert!(err.to_string().contains("`choices` list is empty"), "{err}");
}

#[test]
fn a_server_that_never_answers_times_out_with_a_clear_error() {
    let server = FakeServer::start(vec![Step::Hang(Duration::from_secs(3))]);
    let mut config = client(&server).config().clone();
    config.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = ask(&ChatClient::new(config)).unwrap_err();
    assert!(
        matches!(
            err,
            GenError::Timeout {
                timeout_ms: 300,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("did not answer within 300 ms"),
        "{err}"
    );
    // A timeout is not retried: one attempt, not four.
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn nothing_listening_says_how_to_start_a_server() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // The default retry budget and backoff: a refused connection fails at once
    // instead of waiting through the retries.
    let config = ClientConfig::new(format!("http://127.0.0.1:{port}/v1"));
    let started = Instant::now();
    let err = ask(&ChatClient::new(config)).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, GenError::Unreachable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("ollama serve"), "{message}");
    assert!(message.contains("llama-server"), "{message}");
    assert!(message.contains("ANRF_LLM_ENDPOINT"), "{message}");
}

#[test]
fn the_key_never_appears_in_errors_even_when_the_server_echoes_it() {
    let echo = format!(r#"{{"error":"bad key Bearer {KEY}"}}"#);
    let server = FakeServer::start(vec![Step::status(401, &echo)]);
    let client = client(&server);
    let err = ask(&client).unwrap_err();
    let shown = format!("{err} {err:?} {client:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("HTTP 401"), "{shown}");
    assert!(shown.contains("ANRF_LLM_API_KEY"), "{shown}");
}

#[test]
fn client_errors_other_than_429_are_not_retried() {
    let server = FakeServer::start(vec![Step::status(404, "model not found")]);
    let err = ask(&client(&server)).unwrap_err();
    assert!(
        matches!(err, GenError::Refused { status: 404, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("model not found"), "{err}");
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn a_200_reply_that_echoes_the_key_in_an_error_object_does_not_leak_it() {
    let echo = format!(r#"{{"error":{{"message":"invalid header Authorization: Bearer {KEY}"}}}}"#);
    let server = FakeServer::start(vec![Step::status(200, &echo)]);
    let client = client(&server);
    let err = ask(&client).unwrap_err();
    assert!(matches!(err, GenError::Malformed { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("Bearer ***"), "{shown}");
}

#[test]
fn a_key_echoed_into_the_models_reply_is_scrubbed() {
    let server = FakeServer::start(vec![Step::reply(&format!("const K: &str = \"{KEY}\";"))]);
    let reply = ask(&client(&server)).unwrap();
    assert!(!reply.content.contains(KEY), "{}", reply.content);
    assert_eq!(reply.content, "const K: &str = \"***\";");
}

#[test]
fn retry_after_as_an_http_date_is_honoured_and_retries_are_reported() {
    // A date in the past: retry at once (the client caps it at `backoff_max` anyway).
    let server = FakeServer::start(vec![
        Step::Respond {
            status: 503,
            headers: vec![(
                "Retry-After".to_owned(),
                "Wed, 21 Oct 2015 07:28:00 GMT".to_owned(),
            )],
            body: "busy".to_owned(),
        },
        Step::reply("after the date"),
    ]);
    let mut notices: Vec<RetryNotice> = Vec::new();
    let reply = client(&server)
        .chat_observed(&[Message::user("say hi")], Sampling::default(), &mut |n| {
            notices.push(n.clone());
        })
        .unwrap();
    assert_eq!(reply.content, "after the date");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].wait, Duration::ZERO, "a past date means no wait");
    assert_eq!(notices[0].reason, "HTTP 503");
    assert!(
        notices[0]
            .to_string()
            .contains("attempt 1 of 4 failed (HTTP 503)")
    );
}

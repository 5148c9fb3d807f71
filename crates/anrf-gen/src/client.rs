//! An OpenAI-compatible chat-completions client (Ollama, llama.cpp's server, vLLM,
//! hosted services), blocking, with a request timeout, bounded retries with jittered
//! exponential backoff on HTTP 429/5xx and dropped connections (honouring
//! `Retry-After`, in seconds or as an HTTP date), and clear errors for everything
//! else. A refused connection (nothing listens at the endpoint) is not retried: it
//! fails at once with the way to start a server.
//!
//! The API key lives in an [`ApiKey`], whose `Debug` and `Display` print `***`; it is
//! sent only as the `Authorization` header. Every text that comes from the server
//! and ends up in an error passes through one bounding, key-scrubbing quote, and the
//! key is scrubbed from the model's replies too, so a server that echoes the key
//! cannot get it into an error, a log or a module ([`ChatClient::redact`] is the
//! last line of defence for callers that print errors).

pub mod config;

use std::fmt;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use config::{ClientConfig, Overrides};

use crate::GenError;

/// A secret API key. Its `Debug` and `Display` print `***`; the value is reached only
/// through the visibly named [`ApiKey::expose_secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the one place that sends it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions from anrf.
    System,
    /// The person's intent, or feedback from the build and verifier.
    User,
    /// The model's earlier replies.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Author.
    pub role: Role,
    /// Text.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Message {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Sampling settings of one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Temperature; low by default, so that repairs converge.
    pub temperature: f32,
    /// Upper bound on the reply's tokens.
    pub max_tokens: u32,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.2,
            max_tokens: 4096,
        }
    }
}

/// Token counts the server reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Reply tokens.
    #[serde(default)]
    pub completion_tokens: u64,
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The text of the first choice.
    pub content: String,
    /// The model that answered, as the server names it.
    pub model: String,
    /// Why generation stopped (`stop`, `length`, ...), if the server said.
    pub finish_reason: Option<String>,
    /// Token counts, if the server reported them.
    pub usage: Option<Usage>,
    /// Attempts it took (1 when the first one succeeded).
    pub attempts: u32,
}

/// A retry the client is about to make, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// Attempts allowed in all.
    pub attempts: u32,
    /// What went wrong (`HTTP 503`, `connection reset`).
    pub reason: String,
    /// How long the client waits before the next attempt.
    pub wait: Duration,
}

impl fmt::Display for RetryNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "attempt {} of {} failed ({}); retrying in {:.1} s",
            self.attempt,
            self.attempts,
            self.reason,
            self.wait.as_secs_f64()
        )
    }
}

/// Anything that answers chat requests: the HTTP client, or a script in tests.
pub trait ChatBackend {
    /// Sends the conversation and returns the model's reply.
    fn chat(&self, messages: &[Message], sampling: Sampling) -> Result<Reply, GenError>;

    /// [`ChatBackend::chat`], telling `on_retry` about each retry before waiting for
    /// it. Backends that never retry need not implement it.
    fn chat_observed(
        &self,
        messages: &[Message],
        sampling: Sampling,
        on_retry: &mut dyn FnMut(&RetryNotice),
    ) -> Result<Reply, GenError> {
        let _ = on_retry;
        self.chat(messages, sampling)
    }

    /// A short description for provenance, e.g. `openai-compatible http://127.0.0.1:11434/v1`.
    fn describe(&self) -> String;

    /// The model name for provenance.
    fn model(&self) -> &str;
}

/// The blocking OpenAI-compatible HTTP client.
#[derive(Debug)]
pub struct ChatClient {
    config: ClientConfig,
    agent: ureq::Agent,
}

/// Longest reply body read (a chat completion is far smaller).
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// How much server text an error quotes.
const QUOTE_LIMIT: usize = 300;

impl ChatClient {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> ChatClient {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .user_agent(concat!("anrf/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        ChatClient { config, agent }
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn url(&self) -> String {
        format!(
            "{}/chat/completions",
            self.config.endpoint.trim_end_matches('/')
        )
    }

    /// The endpoint with any credentials in it hidden.
    fn shown_endpoint(&self) -> String {
        redact_url(&self.config.endpoint)
    }

    /// One attempt: `Ok(Ok(reply))`, `Ok(Err(retry))` for a retryable failure, or
    /// `Err` for a failure that retrying cannot fix.
    fn attempt(&self, body: &serde_json::Value) -> Result<Result<Reply, Retry>, GenError> {
        let mut request = self
            .agent
            .post(self.url())
            .header("Accept", "application/json");
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", format!("Bearer {}", key.expose_secret()));
        }
        let endpoint = self.shown_endpoint();
        let mut response = match request.send_json(body) {
            Ok(response) => response,
            Err(error) => return self.transport_error(error).map(Err),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, time::OffsetDateTime::now_utc()));
        let text = match response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
        {
            Ok(text) => text,
            Err(ureq::Error::Timeout(_)) => return Err(self.timeout_error()),
            Err(error) => {
                return Err(GenError::Malformed {
                    endpoint,
                    reason: format!(
                        "the reply body could not be read: {}",
                        self.quote(&error.to_string())
                    ),
                });
            }
        };
        if status == 429 || (500..600).contains(&status) {
            return Ok(Err(Retry {
                status: Some(status),
                reason: self.quote(&text),
                wait: retry_after,
            }));
        }
        if !(200..300).contains(&status) {
            let hint = match status {
                401 | 403 => {
                    " (check the API key: `ANRF_LLM_API_KEY` or `api_key` in the config file)"
                }
                404 => " (check the endpoint, which usually ends in `/v1`, and the model name)",
                _ => "",
            };
            return Err(GenError::Refused {
                endpoint,
                status,
                body: self.quote(&text),
                hint,
            });
        }
        // The reason quotes the server's own words (its error object, serde's view
        // of the body): bounded and scrubbed like every other server text.
        parse_reply(&text)
            .map(|mut reply| {
                reply.content = self.redact(&reply.content);
                Ok(reply)
            })
            .map_err(|reason| GenError::Malformed {
                endpoint,
                reason: self.quote(&reason),
            })
    }

    fn transport_error(&self, error: ureq::Error) -> Result<Retry, GenError> {
        let endpoint = self.shown_endpoint();
        match error {
            ureq::Error::Timeout(_) => Err(self.timeout_error()),
            // Nothing listens there: retrying will not start a server.
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                Err(self.unreachable(&io.to_string()))
            }
            ureq::Error::ConnectionFailed => Err(self.unreachable(&error.to_string())),
            ureq::Error::Io(io) if is_connection_failure(io.kind()) => Ok(Retry {
                status: None,
                reason: io.to_string(),
                wait: None,
            }),
            ureq::Error::HostNotFound => Ok(Retry {
                status: None,
                reason: error.to_string(),
                wait: None,
            }),
            ureq::Error::BadUri(_) => Err(GenError::Config {
                source_name: self.config.sources.endpoint.clone(),
                reason: format!("the endpoint `{endpoint}` is not a valid URL"),
            }),
            other => Err(GenError::Transport {
                endpoint,
                reason: self.quote(&other.to_string()),
            }),
        }
    }

    fn unreachable(&self, reason: &str) -> GenError {
        GenError::Unreachable {
            endpoint: self.shown_endpoint(),
            model: self.config.model.clone(),
            reason: self.quote(reason),
        }
    }

    /// `text` with the API key replaced by `***`: the last line of defence for any
    /// error text that is printed or recorded.
    pub fn redact(&self, text: &str) -> String {
        match &self.config.api_key {
            Some(key) if !key.expose_secret().is_empty() => {
                text.replace(key.expose_secret(), "***")
            }
            _ => text.to_owned(),
        }
    }

    fn timeout_error(&self) -> GenError {
        GenError::Timeout {
            endpoint: self.shown_endpoint(),
            timeout_ms: self.config.timeout.as_millis(),
        }
    }

    /// Server text for an error: trimmed, bounded, and without the key.
    fn quote(&self, text: &str) -> String {
        let mut text = self.redact(text.trim());
        if text.len() > QUOTE_LIMIT {
            let mut cut = QUOTE_LIMIT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        if text.is_empty() {
            "(empty body)".to_owned()
        } else {
            text
        }
    }

    /// The wait before retry number `retry` (0-based): the server's `Retry-After` when
    /// it gave one, else `base * 2^retry` with full jitter in its upper half; both
    /// capped at `backoff_max`.
    fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.config.backoff_max);
        }
        let exp = self
            .config
            .backoff_base
            .saturating_mul(2_u32.saturating_pow(retry))
            .min(self.config.backoff_max);
        let jitter = rand::thread_rng().gen_range(0.5..=1.0);
        exp.mul_f64(jitter)
    }
}

impl ChatBackend for ChatClient {
    fn chat(&self, messages: &[Message], sampling: Sampling) -> Result<Reply, GenError> {
        self.chat_observed(messages, sampling, &mut |_| {})
    }

    fn chat_observed(
        &self,
        messages: &[Message],
        sampling: Sampling,
        on_retry: &mut dyn FnMut(&RetryNotice),
    ) -> Result<Reply, GenError> {
        let body = serde_json::json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": sampling.temperature,
            "max_tokens": sampling.max_tokens,
            "stream": false,
        });
        let attempts = self.config.max_retries.saturating_add(1);
        let mut last = None;
        for attempt in 1..=attempts {
            match self.attempt(&body)? {
                Ok(mut reply) => {
                    reply.attempts = attempt;
                    return Ok(reply);
                }
                Err(retry) => {
                    if attempt < attempts {
                        let wait = self.backoff(attempt - 1, retry.wait);
                        on_retry(&RetryNotice {
                            attempt,
                            attempts,
                            reason: retry
                                .status
                                .map_or_else(|| retry.reason.clone(), |s| format!("HTTP {s}")),
                            wait,
                        });
                        tracing::debug!(
                            attempt,
                            status = retry.status,
                            wait_ms = wait.as_millis(),
                            "model server asked for a retry"
                        );
                        std::thread::sleep(wait);
                    }
                    last = Some(retry);
                }
            }
        }
        let endpoint = self.shown_endpoint();
        Err(match last {
            Some(Retry {
                status: Some(status),
                reason,
                ..
            }) => GenError::GaveUp {
                endpoint,
                attempts,
                status,
                body: reason,
            },
            Some(Retry { reason, .. }) => GenError::Unreachable {
                endpoint,
                model: self.config.model.clone(),
                reason: format!("{reason} (tried {attempts} times)"),
            },
            None => GenError::Transport {
                endpoint,
                reason: "no attempt was made (the retry budget is zero)".to_owned(),
            },
        })
    }

    fn describe(&self) -> String {
        format!("openai-compatible {}", self.shown_endpoint())
    }

    fn model(&self) -> &str {
        &self.config.model
    }
}

/// A failure worth another attempt.
#[derive(Debug)]
struct Retry {
    /// The HTTP status, or `None` for a connection failure.
    status: Option<u16>,
    reason: String,
    wait: Option<Duration>,
}

fn is_connection_failure(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        kind,
        K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable
    )
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    model: Option<String>,
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<ChoiceMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

/// Parses a chat-completion body into a reply, or says what is wrong with it.
fn parse_reply(text: &str) -> Result<Reply, String> {
    let completion: Completion = serde_json::from_str(text).map_err(|e| {
        format!("the body is not a JSON chat completion ({e}); is the endpoint an OpenAI-compatible `/v1` URL?")
    })?;
    if let Some(error) = completion.error {
        return Err(format!("the server reported an error: {error}"));
    }
    let choices = completion
        .choices
        .ok_or("the reply has no `choices` field")?;
    let first = choices
        .into_iter()
        .next()
        .ok_or("the reply's `choices` list is empty")?;
    let content = first
        .message
        .and_then(|m| m.content)
        .ok_or("the first choice has no `message.content`")?;
    Ok(Reply {
        content,
        model: completion.model.unwrap_or_default(),
        finish_reason: first.finish_reason,
        usage: completion.usage,
        attempts: 1,
    })
}

/// A `Retry-After` value: delay-seconds, or an HTTP date (RFC 9110's IMF-fixdate,
/// a form of RFC 2822) turned into the time from `now` until then (zero when past).
fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = at - now;
    Some(if wait.is_negative() {
        Duration::ZERO
    } else {
        wait.unsigned_abs()
    })
}

/// `scheme://user:pass@host/...` -> `scheme://***@host/...`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_never_print() {
        let key = ApiKey::new("sk-secret-123");
        assert_eq!(format!("{key}"), "***");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        let mut config = ClientConfig::new("http://127.0.0.1:9/v1");
        config.api_key = Some(key);
        let printed = format!("{config:?} {:?}", ChatClient::new(config.clone()));
        assert!(!printed.contains("sk-secret-123"), "{printed}");
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(redact_url("https://u:p@host:1/v1"), "https://***@host:1/v1");
        assert_eq!(
            redact_url("http://127.0.0.1:11434/v1"),
            "http://127.0.0.1:11434/v1"
        );
        assert_eq!(redact_url("http://h/v1?x=a@b"), "http://h/v1?x=a@b");
    }

    #[test]
    fn replies_parse_and_malformed_ones_say_why() {
        let ok = parse_reply(
            r#"{"model":"m","choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
        )
        .unwrap();
        assert_eq!(ok.content, "hi");
        assert_eq!(ok.finish_reason.as_deref(), Some("stop"));
        assert_eq!(ok.usage.unwrap().prompt_tokens, 3);
        assert!(
            parse_reply("<html>")
                .unwrap_err()
                .contains("not a JSON chat completion")
        );
        assert!(parse_reply("{}").unwrap_err().contains("no `choices`"));
        assert!(
            parse_reply(r#"{"choices":[]}"#)
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            parse_reply(r#"{"choices":[{"message":{}}]}"#)
                .unwrap_err()
                .contains("message.content")
        );
        assert!(
            parse_reply(r#"{"error":{"message":"no such model"}}"#)
                .unwrap_err()
                .contains("no such model")
        );
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = time::macros::datetime!(2015-10-21 07:27:00 UTC);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_mins(1))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn server_text_in_malformed_replies_is_scrubbed_and_bounded() {
        let mut config = ClientConfig::new("http://127.0.0.1:9/v1");
        config.api_key = Some(ApiKey::new("sk-echo-777"));
        let client = ChatClient::new(config);
        let reason = parse_reply(&format!(
            r#"{{"error":{{"message":"invalid header Bearer sk-echo-777 {}"}}}}"#,
            "x".repeat(1000)
        ))
        .unwrap_err();
        let quoted = client.quote(&reason);
        assert!(!quoted.contains("sk-echo-777"), "{quoted}");
        assert!(quoted.contains("Bearer ***"), "{quoted}");
        assert!(quoted.len() <= QUOTE_LIMIT + '…'.len_utf8());
        assert_eq!(client.redact("a sk-echo-777 b"), "a *** b");
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let mut config = ClientConfig::new("http://127.0.0.1:9/v1");
        config.backoff_base = Duration::from_millis(100);
        config.backoff_max = Duration::from_millis(350);
        let client = ChatClient::new(config);
        let first = client.backoff(0, None);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let third = client.backoff(2, None);
        assert!(third >= Duration::from_millis(175) && third <= Duration::from_millis(350));
        assert_eq!(
            client.backoff(0, Some(Duration::from_secs(1))),
            Duration::from_millis(350)
        );
        assert!(client.backoff(30, None) <= Duration::from_millis(350));
    }
}

//! Progress of a generation, stage by stage: the pipeline reports [`Event`]s to a
//! [`Progress`]; [`Terminal`] shows them on stderr, with a spinner when stderr is
//! a terminal and as plain lines otherwise. Nothing goes to stdout.

use std::fmt;
use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A stage of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Override detection on the intent.
    Detect,
    /// Asking the model.
    Generate,
    /// Parsing the reply and its manifest.
    Parse,
    /// Building the guest.
    Build,
    /// Verifying the module.
    Verify,
    /// Running the intent examples in the sandbox.
    Examples,
    /// Computing confidence.
    Confidence,
    /// Building the explanation.
    Explain,
}

impl Stage {
    /// The stage's name as shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Detect => "detect",
            Stage::Generate => "generate",
            Stage::Parse => "parse",
            Stage::Build => "build",
            Stage::Verify => "verify",
            Stage::Examples => "examples",
            Stage::Confidence => "confidence",
            Stage::Explain => "explain",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// It began.
    Started,
    /// It ended well.
    Passed,
    /// It ended with a problem (fed back to the model in a repair round).
    Failed,
    /// It did not apply.
    Skipped,
    /// It failed and is being tried again (the model server asked for a retry).
    Retrying,
}

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The stage.
    pub stage: Stage,
    /// The round (1-based), or 0 for stages outside the repair loop.
    pub round: u32,
    /// What happened.
    pub state: State,
    /// A short description.
    pub detail: String,
}

/// Receives progress events.
pub trait Progress {
    /// Called for every event, in order.
    fn event(&mut self, event: &Event);
}

/// Ignores every event.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn event(&mut self, _event: &Event) {}
}

/// Collects every event (for tests and reports).
#[derive(Debug, Default)]
pub struct Recorder {
    /// The events so far.
    pub events: Vec<Event>,
}

impl Progress for Recorder {
    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
}

/// Progress on stderr: a spinner per stage when stderr is a terminal, one plain
/// line per finished stage otherwise.
#[derive(Debug)]
pub struct Terminal {
    spinner: Option<ProgressBar>,
    interactive: bool,
}

impl Terminal {
    /// Chooses spinner or plain lines by whether stderr is a terminal.
    pub fn stderr() -> Terminal {
        Terminal {
            spinner: None,
            interactive: std::io::stderr().is_terminal(),
        }
    }

    /// Plain lines whatever stderr is.
    pub fn plain() -> Terminal {
        Terminal {
            spinner: None,
            interactive: false,
        }
    }

    fn finish_line(&mut self, line: &str) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

impl Progress for Terminal {
    fn event(&mut self, event: &Event) {
        let label = if event.round == 0 {
            format!("{:>10}", event.stage.as_str())
        } else {
            format!("{:>10} [round {}]", event.stage.as_str(), event.round)
        };
        match event.state {
            State::Started => {
                if self.interactive {
                    if let Some(old) = self.spinner.take() {
                        old.finish_and_clear();
                    }
                    let spinner = ProgressBar::new_spinner();
                    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                        spinner.set_style(style);
                    }
                    spinner.set_message(format!("{label} {}", event.detail));
                    spinner.enable_steady_tick(Duration::from_millis(100));
                    self.spinner = Some(spinner);
                }
            }
            State::Passed => self.finish_line(&format!("  ok {label} {}", event.detail)),
            State::Failed => self.finish_line(&format!("FAIL {label} {}", event.detail)),
            State::Skipped => self.finish_line(&format!("  -- {label} {}", event.detail)),
            State::Retrying => {
                if let Some(spinner) = &self.spinner {
                    spinner.set_message(format!("{label} {}", event.detail));
                } else {
                    let _ = writeln!(std::io::stderr().lock(), "  .. {label} {}", event.detail);
                }
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }
}

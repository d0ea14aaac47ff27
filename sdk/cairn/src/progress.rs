//! Progress while applying: a spinner per action in flight on a terminal,
//! one line per finished action otherwise. Always on stderr.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cairn_core::Urn;
use cairn_engine::executor::ActionKind;
use cairn_engine::{Command, Event, Observer, Plan};
use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner and when its action started, by resource and verb.
type Spinners = HashMap<(Urn, &'static str), (ProgressBar, Instant)>;

/// Shows a run's plan and its apply progress.
pub struct Progress {
    multi: MultiProgress,
    bars: Mutex<Spinners>,
    quiet: bool,
    show_same: bool,
    stack: String,
    project: String,
}

fn verb(a: ActionKind) -> (&'static str, &'static str, Style) {
    match a {
        ActionKind::Create => ("creating", "created", Style::new().green()),
        ActionKind::CreateReplacement => ("creating replacement", "created replacement", Style::new().magenta()),
        ActionKind::Update => ("updating", "updated", Style::new().yellow()),
        ActionKind::Same => ("checking", "unchanged", Style::new().dim()),
        ActionKind::Delete => ("deleting", "deleted", Style::new().red()),
        ActionKind::DeleteReplaced => ("deleting replaced", "deleted replaced", Style::new().red()),
        ActionKind::Import => ("importing", "imported", Style::new().cyan()),
    }
}

impl Progress {
    /// Lists unchanged resources in the plan too (`--show-same`).
    pub fn show_same(mut self, show: bool) -> Self {
        self.show_same = show;
        self
    }

    /// A display on stderr of runs of `stack` of `project`; `quiet` (for `--json`) shows nothing.
    pub fn new(quiet: bool, stack: &str, project: &str) -> Self {
        let target = if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::default(),
            quiet,
            show_same: false,
            stack: stack.to_owned(),
            project: project.to_owned(),
        }
    }

    fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        if self.multi.is_hidden() {
            eprintln!("{text}");
        } else {
            let _ = self.multi.println(text);
        }
    }
}

impl Observer for Progress {
    fn settling(&self, count: usize) {
        self.line(format!("Reconciling {count} operation(s) an interrupted run left pending..."));
    }

    fn planned(&self, command: Command, plan: &Plan) {
        if self.quiet {
            return;
        }
        let verb = match command {
            Command::Preview => "Preview",
            Command::Up => "Update",
            Command::Destroy => "Destroy",
            Command::Refresh => {
                eprintln!("Refresh of stack {} (project {})\n", self.stack, self.project);
                eprint!("{}", crate::render::drift_text(plan));
                return;
            }
        };
        eprint!("{}", crate::render::plan_text(plan, &self.stack, &self.project, verb, self.show_same));
    }

    fn event(&self, event: &Event) {
        match event {
            Event::Started { urn, action } => {
                if *action == ActionKind::Same {
                    return;
                }
                let (doing, _, style) = verb(*action);
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"));
                bar.set_message(format!("{} {} {}", style.apply_to(doing), urn.resource_type(), urn.name()));
                bar.enable_steady_tick(Duration::from_millis(120));
                self.bars.lock().expect("bars").insert((urn.clone(), doing), (bar, Instant::now()));
            }
            Event::Finished { urn, action, error } => {
                if *action == ActionKind::Same {
                    return;
                }
                let (doing, done, style) = verb(*action);
                let entry = self.bars.lock().expect("bars").remove(&(urn.clone(), doing));
                let took = entry.as_ref().map(|(_, t)| t.elapsed()).unwrap_or_default();
                if let Some((bar, _)) = entry {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let what = format!("{} {}", urn.resource_type(), urn.name());
                match error {
                    None => self.line(format!("  {} {what} ({:.1}s)", style.apply_to(done), took.as_secs_f64())),
                    Some(e) => self.line(format!(
                        "  {} {what}: {e}",
                        Style::new().red().bold().apply_to(format!("failed {doing}"))
                    )),
                }
            }
        }
    }
}

//! The command line a program gets from [`crate::run`]:
//! `preview | up | destroy` with `--stack`, `--yes`, `--json`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use cairn_core::{DeclaredStack, ProjectName, Stack, StackName};
use cairn_engine::{ApplyOptions, Plan, ProviderSource, Resolution, apply, preview, reconcile};
use cairn_state::{LockOptions, Recorder, StackSession, StateStore};
use clap::{Parser, Subcommand};

use crate::config::{self, StackConfig};
use crate::plugins::PluginProviders;
use crate::progress::Progress;
use crate::render;

#[derive(Debug, Parser)]
#[command(about = "Preview, apply or destroy this program's infrastructure", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The stack (environment) to work on; its config is Cairn.<stack>.toml.
    #[arg(long, short, global = true, default_value = "dev", env = "CAIRN_STACK")]
    stack: String,
    /// Print one JSON document on stdout instead of the human display.
    #[arg(long, global = true)]
    json: bool,
    /// Override the state backend URL of the stack config (e.g. file:///tmp/state).
    #[arg(long, global = true, env = "CAIRN_BACKEND")]
    backend: Option<String>,
    /// The project directory holding the stack config files.
    #[arg(long, global = true, env = "CAIRN_PROJECT_DIR")]
    cwd: Option<PathBuf>,
    /// How long to wait for another run's lock on the stack (e.g. 30s, 5m); by default fail at once.
    #[arg(long, global = true, value_parser = humantime::parse_duration, default_value = "0s")]
    lock_timeout: Duration,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what `up` would do. Changes nothing.
    Preview,
    /// Make the cloud match the program.
    Up {
        /// Apply without asking.
        #[arg(long, short)]
        yes: bool,
        /// Most provider operations in flight at once.
        #[arg(long, default_value_t = 10)]
        parallel: usize,
    },
    /// Inspect or clear the stack's state lock.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Delete every resource of the stack.
    Destroy {
        /// Destroy without asking.
        #[arg(long, short)]
        yes: bool,
        /// Most provider operations in flight at once.
        #[arg(long, default_value_t = 10)]
        parallel: usize,
    },
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Show who holds the stack's lock, if anyone.
    Lock,
    /// Remove the stack's lock; only the lock with this ID is removed.
    Unlock {
        /// The lock's ID, as `state lock` shows it.
        lock_id: String,
    },
}

/// Everything a command needs.
struct Session {
    project: ProjectName,
    stack: StackName,
    config: StackConfig,
    store: Box<dyn StateStore>,
    providers: PluginProviders,
    json: bool,
    lock: LockOptions,
}

/// Parses the command line and runs it; errors print once, here, at the edge.
pub(crate) fn main<F>(project: &str, program: F) -> ExitCode
where
    F: Fn(&Stack) -> crate::Result,
{
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(execute(project, cli, &program)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{} {e:#}", console::Style::new().red().bold().apply_to("error:"));
            ExitCode::FAILURE
        }
    }
}

async fn execute<F>(project: &str, cli: Cli, program: &F) -> anyhow::Result<ExitCode>
where
    F: Fn(&Stack) -> crate::Result,
{
    let project = ProjectName::new(project).context("the project name passed to cairn::run")?;
    let stack = StackName::new(&cli.stack).context("--stack")?;
    let dir = config::project_dir(cli.cwd.as_deref(), &stack)?;
    let config = config::load(&dir, &stack)?;
    let backend = cli.backend.clone().unwrap_or_else(|| config.backend.clone());
    let store = crate::backends::open(&backend, &config.project_dir)?;
    let providers = PluginProviders::new(config.providers.clone());
    let lock = LockOptions { wait: cli.lock_timeout, ttl: config.lock_ttl };
    let s = Session { project, stack, config, store, providers, json: cli.json, lock };
    match cli.command {
        Command::Preview => s.preview(program).await,
        Command::Up { yes, parallel } => s.up(program, yes, parallel).await,
        Command::Destroy { yes, parallel } => s.destroy(yes, parallel).await,
        Command::State { command } => s.state(command).await,
    }
}

impl Session {
    fn run_program<F: Fn(&Stack) -> crate::Result>(&self, program: &F) -> anyhow::Result<DeclaredStack> {
        let ctx = Stack::new(self.stack.clone(), self.project.clone(), self.config.config.clone());
        program(&ctx).map_err(|e| anyhow!("the program failed: {e}"))?;
        Ok(ctx.finish())
    }

    fn print_json(&self, doc: &serde_json::Value) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(doc)?);
        Ok(())
    }

    fn print_plan(&self, plan: &Plan, verb: &str) {
        if self.json {
            return;
        }
        eprint!("{}", render::plan_text(plan, self.stack.as_str(), self.project.as_str(), verb));
    }

    async fn preview<F: Fn(&Stack) -> crate::Result>(&self, program: &F) -> anyhow::Result<ExitCode> {
        let declared = self.run_program(program)?;
        let replayed = self.store.read(&self.project, &self.stack).await?;
        let mut state = replayed.state;
        // Settle what a crashed run left pending, in memory only: preview writes nothing.
        for (_, r) in reconcile(&replayed.pending, &state, &self.providers).await? {
            if let Resolution::Commit(mutations) = r {
                mutations.iter().for_each(|m| state.apply(m));
            }
        }
        let plan = preview(&declared, &state, &self.providers).await?;
        if self.json {
            self.print_json(&render::plan_json(&plan, self.stack.as_str(), self.project.as_str()))?;
        } else {
            self.print_plan(&plan, "Preview");
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Locks the stack and settles pending operations through the journal.
    async fn open(&self, operation: &str) -> anyhow::Result<Recorder> {
        let session: Box<dyn StackSession> =
            cairn_state::lock(&*self.store, &self.project, &self.stack, operation, &self.lock).await?;
        let replayed = session.read().await?;
        let pending = replayed.pending.clone();
        let recorder = Recorder::new(session, replayed.state, replayed.next_op);
        if !pending.is_empty() {
            if !self.json {
                eprintln!("Reconciling {} operation(s) an interrupted run left pending...", pending.len());
            }
            for (op, r) in reconcile(&pending, &recorder.state(), &self.providers).await? {
                match r {
                    Resolution::Commit(m) => recorder.commit(Some(op), m).await?,
                    Resolution::Abort(why) => recorder.abort(op, why).await?,
                }
            }
        }
        Ok(recorder)
    }

    fn confirm(&self, yes: bool, what: &str) -> anyhow::Result<bool> {
        if yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() || self.json {
            bail!("refusing to {what} without confirmation: pass --yes");
        }
        eprint!("Do you want to {what}? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(matches!(answer.trim(), "y" | "yes" | "Y"))
    }

    async fn carry_out(
        &self,
        plan: &Plan,
        declared: Option<&DeclaredStack>,
        recorder: Recorder,
        parallel: usize,
    ) -> anyhow::Result<ExitCode> {
        let progress = Progress::new(self.json);
        let report = apply(
            plan,
            declared,
            &recorder,
            &self.providers as &dyn ProviderSource,
            &ApplyOptions { parallelism: parallel },
            &progress,
        )
        .await;
        // Compact whatever was recorded, even after a failed step: every success is kept.
        let compacted = if recorder.writes() > 0 { Some(recorder.compact().await) } else { None };
        let mut report = report?;
        if let Some(c) = compacted {
            report.state = c?;
        }
        recorder.release().await?;
        if self.json {
            self.print_json(&render::report_json(plan, &report, self.stack.as_str(), self.project.as_str()))?;
        } else {
            eprint!("{}", render::report_text(&report));
        }
        Ok(if report.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }

    async fn up<F: Fn(&Stack) -> crate::Result>(
        &self,
        program: &F,
        yes: bool,
        parallel: usize,
    ) -> anyhow::Result<ExitCode> {
        let declared = self.run_program(program)?;
        let recorder = self.open("up").await?;
        let plan = match preview(&declared, &recorder.state(), &self.providers).await {
            Ok(p) => p,
            Err(e) => {
                if recorder.writes() > 0 {
                    recorder.compact().await?;
                }
                return Err(e.into());
            }
        };
        self.print_plan(&plan, "Update");
        if plan.is_noop() && recorder.writes() == 0 && plan.outputs == recorder.state().outputs {
            if self.json {
                let report = cairn_engine::ApplyReport::unchanged(&plan, recorder.state());
                self.print_json(&render::report_json(&plan, &report, self.stack.as_str(), self.project.as_str()))?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        if !plan.is_noop() && !self.confirm(yes, "perform these updates")? {
            eprintln!("Cancelled: nothing was changed.");
            return Ok(ExitCode::FAILURE);
        }
        self.carry_out(&plan, Some(&declared), recorder, parallel).await
    }

    async fn state(&self, command: StateCommand) -> anyhow::Result<ExitCode> {
        match command {
            StateCommand::Lock => {
                let lock = self.store.current_lock(&self.project, &self.stack).await?;
                if self.json {
                    self.print_json(&serde_json::json!({ "stack": self.stack.as_str(), "lock": lock }))?;
                } else {
                    match lock {
                        Some(l) => eprintln!(
                            "stack {} is locked by {}\n  last heartbeat {}, lease {} s\n  to remove it: state unlock {}",
                            self.stack, l, l.heartbeat, l.ttl_secs, l.id
                        ),
                        None => eprintln!("stack {} is not locked", self.stack),
                    }
                }
            }
            StateCommand::Unlock { lock_id } => {
                let removed = self.store.unlock(&self.project, &self.stack, &lock_id).await?;
                eprintln!("removed the lock of stack {} held by {removed}", self.stack);
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    async fn destroy(&self, yes: bool, parallel: usize) -> anyhow::Result<ExitCode> {
        let recorder = self.open("destroy").await?;
        let state = recorder.state();
        let steps = cairn_engine::planner::destroy_all(&state)?;
        let plan =
            Plan { base_serial: state.serial, lineage: state.lineage.clone(), steps, outputs: Default::default() };
        self.print_plan(&plan, "Destroy");
        if plan.steps.is_empty() && !self.json {
            return Ok(ExitCode::SUCCESS);
        }
        if !plan.steps.is_empty() && !self.confirm(yes, "delete every resource of this stack")? {
            eprintln!("Cancelled: nothing was changed.");
            return Ok(ExitCode::FAILURE);
        }
        self.carry_out(&plan, None, recorder, parallel).await
    }
}

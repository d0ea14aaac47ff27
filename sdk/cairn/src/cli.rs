//! The command line a program gets from [`crate::run`]:
//! `preview | up | refresh | drift | destroy | import | graph | policy | stack | state | config`,
//! with `--stack`, `--yes`, `--json`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use cairn_core::{
    Declaration, DeclarationRequest, DeclaredResource, DeclaredStack, ProjectName, ReadRequest, ResourceKind, Stack,
    StackName, Urn, Value,
};
use cairn_engine::selection::Selection;
use cairn_engine::{
    Command as RunCommand, Confirm, Plan, PlanOptions, ProviderSource, Refusal, RunOptions, RunOutcome, RunReport,
    StackRunner,
};
use cairn_state::{LockOptions, StateStore};
use clap::{Parser, Subcommand};

use crate::config::{self, SecretsMode, StackConfig};
use crate::import_code::ImportSpec;
use crate::plugins::PluginProviders;
use crate::progress::Progress;
use crate::references::StoreOutputs;
use crate::render;
use crate::saved_plan::{PlanFile, SavedPlanGate};
use cairn_policy::StackInfo;

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
    /// List unchanged resources in the plan too (by default only changes and a count).
    #[arg(long, global = true)]
    show_same: bool,
    /// How long to wait for another run's lock on the stack (e.g. 30s, 5m); by default fail at once.
    #[arg(long, global = true, value_parser = humantime::parse_duration, default_value = "0s")]
    lock_timeout: Duration,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what `up` would do. Changes nothing.
    Preview {
        #[command(flatten)]
        imports: Imports,
        #[command(flatten)]
        targeting: Targeting,
        #[command(flatten)]
        replacing: Replacing,
        /// Exit 0 when the plan changes nothing, 2 when it has changes, 1 on an error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Fail (exit 1), naming the changes, when the plan has any: the check that the cloud matches the program.
        #[arg(long)]
        expect_no_changes: bool,
        /// Print the plan as Markdown on stdout, for a pull-request comment.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// Read every resource first and plan against what is live (writes nothing).
        #[arg(long)]
        refresh: bool,
        /// Save the plan to FILE for review; `up --plan FILE` then applies exactly it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write the plan document policies read (JSON, docs/policy.md) to FILE,
        /// e.g. as a test case for `policy test`.
        #[arg(long, value_name = "FILE")]
        policy_input: Option<PathBuf>,
    },
    /// Make the cloud match the program.
    Up {
        #[command(flatten)]
        imports: Imports,
        #[command(flatten)]
        targeting: Targeting,
        #[command(flatten)]
        replacing: Replacing,
        /// Read every resource first, record what drifted, and plan against
        /// what is live: puts drifted resources back to the program.
        #[arg(long, conflicts_with = "plan")]
        refresh: bool,
        /// Apply exactly the plan `preview --out FILE` saved, without asking;
        /// refused, naming what moved, when planning now gives another plan.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["yes", "expect_no_changes", "targets", "excludes", "replaces"])]
        plan: Option<PathBuf>,
        /// Apply without asking.
        #[arg(long, short)]
        yes: bool,
        /// Most provider operations in flight at once.
        #[arg(long, default_value_t = 10)]
        parallel: usize,
        /// Refuse to apply (exit 1, nothing changed) when the plan has changes.
        #[arg(long)]
        expect_no_changes: bool,
    },
    /// Read every resource and record in the state what the cloud holds
    /// (properties changed by hand, resources deleted out of band); changes nothing in the cloud.
    Refresh {
        /// Record without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Compare the cloud with the state and the program, property by property; changes nothing.
    /// Exit 0 when nothing drifted, 2 when something did, 1 on an error.
    Drift {
        /// Print the report as Markdown on stdout, for an issue or a chat message.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Adopt an existing cloud resource the program does not declare yet, and
    /// print its Rust declaration (typed builder calls with the live values):
    /// pasted into the program, `preview` then shows no change.
    #[command(
        after_help = "Examples:\n  import aws:s3:Bucket raw-data acme-raw-data\n  import aws:eks:NodeGroup gpu ai-dev:gpu \
                      --out imported.rs\n  import --file imports.txt   (one `TYPE NAME ID` per line; # comments)"
    )]
    Import {
        /// The resource type (e.g. aws:ec2:Vpc), the name to declare it under, and its provider ID.
        #[arg(num_args = 3, value_names = ["TYPE", "NAME", "ID"], required_unless_present = "file", conflicts_with = "file")]
        resource: Vec<String>,
        /// Adopt every resource this file lists, one `TYPE NAME ID` per line.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Write the code to FILE instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Adopt without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Print the program's resources and their dependencies as a Graphviz DOT graph (calls no provider).
    Graph,
    /// Run the stack's policies outside a plan.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Read the stack's outputs.
    Stack {
        #[command(subcommand)]
        command: StackCommand,
    },
    /// Inspect or clear the stack's state lock.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Read or change one value of the stack's config file, keeping its comments and layout.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Promote a config value (a model version) as a reviewed change: plan it, write it as one
    /// commit on a new branch of the project's Git repository, and print the pull request's body.
    /// Applies nothing, merges nothing.
    Promote {
        /// The `[config]` key and its new value, e.g. `fraud_model_version=2026-12-01`.
        #[arg(value_name = "KEY=VALUE")]
        assignment: String,
        /// The branch to create (default `promote/<stack>/<key>-<value>`).
        #[arg(long)]
        branch: Option<String>,
        /// Write the pull request's body to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Delete every resource of the stack.
    Destroy {
        #[command(flatten)]
        targeting: Targeting,
        /// Destroy without asking.
        #[arg(long, short)]
        yes: bool,
        /// Most provider operations in flight at once.
        #[arg(long, default_value_t = 10)]
        parallel: usize,
    },
}

/// Which resources a run may touch: each a resource's name (its URN when
/// names repeat), as `preview` lists them.
#[derive(Debug, Clone, Default, clap::Args)]
struct Targeting {
    /// Only this resource, with what it depends on (and, for a component,
    /// its children). Repeatable.
    #[arg(long = "target", value_name = "NAME|URN")]
    targets: Vec<String>,
    /// Not this resource, nor what depends on it (nor a component's
    /// children). Repeatable.
    #[arg(long = "exclude", value_name = "NAME|URN")]
    excludes: Vec<String>,
}

/// `--replace`: replace even though nothing forces it.
#[derive(Debug, Clone, Default, clap::Args)]
struct Replacing {
    /// Replace this resource even though no change forces it (a new copy
    /// first, unless it must be deleted first). Repeatable.
    #[arg(long = "replace", value_name = "NAME|URN")]
    replaces: Vec<String>,
}

/// Finds the resource a `--target`/`--exclude`/`--replace` value names among
/// `urns`. A component often shares its name with a resource inside it: a
/// target or exclusion then means the component (which covers the inside),
/// a replacement or a repair the resource.
fn resolve_name<'a>(flag: &str, name: &str, urns: impl Iterator<Item = &'a Urn>) -> anyhow::Result<Urn> {
    let mut unique: Vec<&Urn> = urns.filter(|u| u.as_str() == name || u.name() == name).collect();
    unique.sort();
    unique.dedup();
    let inside = |inner: &Urn, outer: &Urn| inner.type_chain().starts_with(&format!("{}$", outer.type_chain()));
    let outermost: Vec<&Urn> =
        unique.iter().copied().filter(|o| unique.iter().all(|u| u == o || inside(u, o))).collect();
    let innermost: Vec<&Urn> =
        unique.iter().copied().filter(|i| unique.iter().all(|u| u == i || inside(i, u))).collect();
    let preferred = if flag == "--target" || flag == "--exclude" { outermost } else { innermost };
    if unique.len() > 1
        && let [u] = preferred.as_slice()
    {
        return Ok((*u).clone());
    }
    match unique.as_slice() {
        [u] => Ok((*u).clone()),
        [] => bail!("{flag} `{name}`: no resource of this stack has that name or URN; use one that `preview` lists"),
        many => bail!(
            "{flag} `{name}` names {} resources; use one's URN instead: {}",
            many.len(),
            many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

impl Targeting {
    /// The selection, names resolved among `urns` (declared and recorded).
    fn selection(&self, replacing: &Replacing, urns: &[Urn]) -> anyhow::Result<Selection> {
        let resolve = |flag: &str, names: &[String]| -> anyhow::Result<Vec<Urn>> {
            names.iter().map(|n| resolve_name(flag, n, urns.iter())).collect()
        };
        Ok(Selection {
            targets: resolve("--target", &self.targets)?,
            excludes: resolve("--exclude", &self.excludes)?,
            replaces: resolve("--replace", &replacing.replaces)?,
        })
    }
}

/// Existing resources to adopt instead of creating them.
#[derive(Debug, clap::Args)]
struct Imports {
    /// Adopt the existing resource with provider ID `ID` as the declared
    /// resource `NAME` (its name, or its URN when names repeat), unless the
    /// state already has it. Repeatable. The program's arguments must match
    /// the live resource.
    #[arg(long = "import", value_name = "NAME=ID")]
    specs: Vec<String>,
}

impl Imports {
    /// Sets the `import` option of the resources named.
    fn apply(&self, declared: &mut DeclaredStack) -> anyhow::Result<()> {
        for spec in &self.specs {
            let Some((name, id)) = spec.split_once('=').filter(|(n, i)| !n.is_empty() && !i.is_empty()) else {
                bail!("--import `{spec}`: write it as NAME=ID (the resource's name or URN, then its provider ID)");
            };
            // Only a custom resource can be adopted: a component exists only in the state.
            let custom = declared.resources.iter().filter(|r| r.kind == ResourceKind::Custom).map(|r| &r.urn);
            let urn = resolve_name("--import", name, custom)?;
            let resource = declared.resources.iter_mut().find(|r| r.urn == urn).expect("resolved among these");
            resource.import = Some(id.to_owned());
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Run the stack's policies over saved plan documents (`preview --policy-input FILE`).
    /// A document with an `expect` list ([{"policy", "urn"}]) passes when exactly those
    /// violations are found; one without passes when no mandatory violation is.
    Test {
        /// The plan documents.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print a value of [config] as the file holds it (a sealed one stays sealed).
    Get {
        /// The key.
        key: String,
    },
    /// Set a value of [config]: a TOML value (4, true, ["a", "b"]) or else a string.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Seal the value with the stack's secrets mode; the program reads it with require_secret.
        #[arg(long)]
        secret: bool,
    },
    /// Remove a value from [config].
    Rm {
        /// The key.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
enum StackCommand {
    /// List the project's stacks in the backend: resources, serial, last update, lock.
    Ls,
    /// Remove the stack (--stack) from the backend: its state, journal and history.
    /// Refused while it records resources, unless --force (they stay in the cloud, unmanaged).
    Rm {
        /// Remove it even though it records resources.
        #[arg(long)]
        force: bool,
        /// Remove without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Print the stack's outputs, or one (its bare value, for scripts); secrets stay masked unless asked.
    Output {
        /// One output's name.
        name: Option<String>,
        /// Print secret outputs in plain text.
        #[arg(long)]
        show_secrets: bool,
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
    /// List the stack's kept versions: serial, time, operation, who, changes.
    History,
    /// Print the stack's state (or a kept version) as JSON on stdout.
    Export {
        /// A version from `state history` instead of the current state.
        #[arg(long)]
        serial: Option<u64>,
    },
    /// Seal the secrets of a state written before `secrets = …` was set.
    Encrypt,
    /// Replace the stack's state with one exported before (e.g. from another backend).
    Import {
        /// The exported state file.
        file: PathBuf,
    },
    /// Forget a resource: drop its record, leave the cloud resource alone (a repair; kept in history).
    Delete {
        /// The resource's name or URN, as `state export` shows it.
        resource: String,
        /// Forget it even when protected, or when others depend on it (their dependency is dropped).
        #[arg(long)]
        force: bool,
    },
    /// Record a resource under another URN of the same type (a repair; kept in history).
    /// To rename in the program, give the resource an alias instead.
    Move {
        /// The resource's name or URN.
        from: String,
        /// Its new URN, or a new name (same type and parent).
        to: String,
    },
}

/// Everything a command needs.
struct Session {
    project: ProjectName,
    stack: StackName,
    config: StackConfig,
    store: Arc<dyn StateStore>,
    providers: PluginProviders,
    json: bool,
    show_same: bool,
    lock: LockOptions,
}

/// Parses the command line and runs it; errors print once, here, at the edge.
pub(crate) fn main<F>(project: &str, program: F) -> ExitCode
where
    F: Fn(&Stack) -> crate::Result,
{
    let cli = Cli::parse();
    cairn_plugin::logging::init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(execute(project, cli, &program)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{} {}", console::Style::new().red().bold().apply_to("error:"), error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, joined by `: `; a cause whose text the message
/// already carries (errors that print their source themselves) is said once.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
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
    let mut config = config;
    if let Command::Config { command } = &cli.command {
        return config_command(&config, &project, &stack, command, cli.json).await;
    }
    // A promotion plans with the new value: the program reads the changed file, in memory.
    let promotion = match &cli.command {
        Command::Promote { assignment, branch, .. } => {
            let p = crate::promote::prepare(&config, assignment)?;
            let repo = crate::promote::ProjectRepo::check(&p, stack.as_str(), branch.as_deref())?;
            config = config::load_text(&config.project_dir, &stack, &p.new_text)?;
            Some((p, repo))
        }
        _ => None,
    };
    let store = crate::backends::open(&backend, &config.project_dir, &config.providers).await?;
    let migrating = matches!(cli.command, Command::State { command: StateCommand::Encrypt });
    let cipher = cipher(&config, &project, &stack).await?;
    config.open_secrets(cipher.as_ref()).await?;
    let store: Box<dyn StateStore> = match cipher {
        Some(cipher) => {
            if migrating {
                Box::new(cairn_secrets::EncryptingStore::migrating(store, cipher))
            } else {
                Box::new(cairn_secrets::EncryptingStore::new(store, cipher))
            }
        }
        None if migrating => bail!(
            "`state encrypt` seals a stack's secrets: set `secrets = \"passphrase\"` or `secrets = \
             \"awskms://alias/NAME\"` in {} first",
            config.path.display()
        ),
        None => store,
    };
    let store: Arc<dyn StateStore> = Arc::from(store);
    let providers = PluginProviders::new(config.providers.clone(), Some(config.project_dir.clone()));
    let lock = LockOptions { wait: cli.lock_timeout, ttl: config.lock_ttl };
    let s = Session { project, stack, config, store, providers, json: cli.json, show_same: cli.show_same, lock };
    match cli.command {
        Command::Preview {
            imports,
            targeting,
            replacing,
            detailed_exitcode,
            expect_no_changes,
            markdown,
            refresh,
            out,
            policy_input,
        } => {
            let exit = PreviewExit { detailed_exitcode, expect_no_changes, markdown, policy_input };
            let declared = s.run_program(program, &imports)?;
            let options =
                PlanOptions { refresh, selection: s.selection(Some(&declared), &targeting, &replacing).await? };
            let code = s.preview(&declared, exit, &options, out.as_deref()).await;
            cairn_engine::drop_aside(declared);
            code
        }
        Command::Up { imports, refresh, plan: Some(path), parallel, .. } => {
            debug_assert!(!refresh, "clap refuses --refresh with --plan");
            s.up_saved(program, &imports, &path, parallel).await
        }
        Command::Up { imports, targeting, replacing, refresh, plan: None, yes, parallel, expect_no_changes } => {
            let declared = s.run_program(program, &imports)?;
            let selection = s.selection(Some(&declared), &targeting, &replacing).await?;
            let options = RunOptions { plan: PlanOptions { refresh, selection }, ..RunOptions::parallelism(parallel) };
            s.up(&declared, Ask { yes, json: s.json, expect_no_changes }, &options).await
        }
        Command::Refresh { yes } => s.refresh(yes).await,
        Command::Drift { markdown } => s.drift(program, markdown).await,
        Command::Import { resource, file, out, yes } => {
            let specs = match &file {
                Some(path) => crate::import_code::from_file(path)?,
                None => crate::import_code::from_args(&resource)?,
            };
            s.import(program, specs, yes, out.as_deref()).await
        }
        Command::Graph => s.graph(program),
        Command::Policy { command: PolicyCommand::Test { files } } => s.policy_test(&files),
        Command::Stack { command: StackCommand::Ls } => s.stack_ls().await,
        Command::Stack { command: StackCommand::Rm { force, yes } } => s.stack_rm(force, yes).await,
        Command::Stack { command: StackCommand::Output { name, show_secrets } } => {
            s.stack_output(name.as_deref(), show_secrets).await
        }
        Command::Promote { out, .. } => {
            let (promotion, repo) = promotion.expect("prepared above");
            s.promote(program, &promotion, &repo, out.as_deref()).await
        }
        Command::Destroy { targeting, yes, parallel } => {
            let selection = s.selection(None, &targeting, &Replacing::default()).await?;
            s.destroy(
                yes,
                RunOptions {
                    plan: PlanOptions { selection, ..PlanOptions::default() },
                    ..RunOptions::parallelism(parallel)
                },
            )
            .await
        }
        Command::State { command } => s.state(command).await,
        Command::Config { .. } => unreachable!("config commands return before the store is opened"),
    }
}

/// The stack's cipher, if its config names a secrets mode.
async fn cipher(
    config: &StackConfig,
    project: &ProjectName,
    stack: &StackName,
) -> anyhow::Result<Option<cairn_secrets::Cipher>> {
    let Some(mode) = &config.secrets else { return Ok(None) };
    Ok(Some(match mode {
        SecretsMode::Passphrase => {
            let passphrase = std::env::var("CAIRN_PASSPHRASE").map_err(|_| {
                anyhow!(
                    "stack `{stack}` encrypts its secrets (secrets = \"passphrase\" in {}): set CAIRN_PASSPHRASE to \
                     its passphrase",
                    config.path.display()
                )
            })?;
            cairn_secrets::Cipher::Passphrase(cairn_secrets::Sealer::new(passphrase))
        }
        SecretsMode::AwsKms(key) => {
            let keys = crate::backends::data_keys(key, &config.providers, project, stack)
                .await
                .with_context(|| format!("stack `{stack}`: secrets = \"{key}\" in {}", config.path.display()))?;
            cairn_secrets::Cipher::Envelope(cairn_secrets::EnvelopeSealer::new(keys))
        }
    }))
}

/// `config get | set | rm`: edits the stack's file; needs no state store.
async fn config_command(
    config: &StackConfig,
    project: &ProjectName,
    stack: &StackName,
    command: &ConfigCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let path = &config.path;
    match command {
        ConfigCommand::Get { key } => match crate::config_edit::get(path, key)? {
            Some(v) if json => println!("{}", serde_json::json!({ "key": key, "value": v })),
            Some(v) => println!("{v}"),
            None => bail!("{} has no `{key}` under [config]; set it with `config set {key} VALUE`", path.display()),
        },
        ConfigCommand::Set { key, value, secret: false } => {
            crate::config_edit::set(path, key, crate::config_edit::parse_value(value))?;
            eprintln!("set `{key}` in {}", path.display());
        }
        ConfigCommand::Set { key, value, secret: true } => {
            let Some(cipher) = cipher(config, project, stack).await? else {
                bail!(
                    "`config set --secret` seals the value with the stack's secrets mode: set `secrets = \
                     \"passphrase\"` or `secrets = \"awskms://alias/NAME\"` in {} first",
                    path.display()
                );
            };
            // The value is sealed as JSON, so it keeps its type (a number stays a number).
            let parsed = crate::config_edit::parse_value(value);
            let table: toml::Table = toml::from_str(&format!("v = {parsed}"))?;
            let plain = serde_json::to_vec(&table["v"])?;
            cipher.ready_to_seal().await?;
            let sealed = cipher.seal(&plain)?;
            crate::config_edit::set(path, key, crate::config_edit::sealed(sealed))?;
            eprintln!("set `{key}` in {}, sealed with {}", path.display(), cipher.describe());
        }
        ConfigCommand::Rm { key } => {
            if !crate::config_edit::rm(path, key)? {
                bail!("{} has no `{key}` under [config]", path.display());
            }
            eprintln!("removed `{key}` from {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl Session {
    fn run_program<F: Fn(&Stack) -> crate::Result>(
        &self,
        program: &F,
        imports: &Imports,
    ) -> anyhow::Result<DeclaredStack> {
        let ctx = Stack::new(self.stack.clone(), self.project.clone(), self.config.config.clone())
            .with_stack_outputs(Arc::new(StoreOutputs::new(self.store.clone())));
        program(&ctx).map_err(|e| anyhow!("the program failed: {e}"))?;
        let mut declared = ctx.finish();
        imports.apply(&mut declared)?;
        Ok(declared)
    }

    fn print_json(&self, doc: &serde_json::Value) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(doc)?);
        Ok(())
    }

    fn progress(&self) -> Progress {
        Progress::new(self.json, self.stack.as_str(), self.project.as_str()).show_same(self.show_same)
    }

    /// The automation API for this stack, reporting to `progress`.
    fn runner<'a>(&'a self, progress: &'a Progress) -> StackRunner<'a> {
        StackRunner::new(self.project.clone(), self.stack.clone(), &*self.store, &self.providers)
            .lock_options(self.lock)
            .observer(progress)
    }

    /// The recorded resource a repair names (its name or URN).
    async fn recorded_urn(&self, command: &str, name: &str) -> anyhow::Result<Urn> {
        let state = self.store.read(&self.project, &self.stack).await?.state;
        let urns: Vec<Urn> = state.resources.into_iter().filter(|r| !r.pending_delete).map(|r| r.urn).collect();
        resolve_name(command, name, urns.iter())
    }

    /// The resources `--target`, `--exclude` and `--replace` name, among
    /// those declared and those recorded.
    async fn selection(
        &self,
        declared: Option<&DeclaredStack>,
        targeting: &Targeting,
        replacing: &Replacing,
    ) -> anyhow::Result<Selection> {
        if targeting.targets.is_empty() && targeting.excludes.is_empty() && replacing.replaces.is_empty() {
            return Ok(Selection::default());
        }
        let mut urns: Vec<Urn> =
            declared.map(|d| d.resources.iter().map(|r| r.urn.clone()).collect()).unwrap_or_default();
        let recorded = self.store.read(&self.project, &self.stack).await?;
        urns.extend(recorded.state.resources.into_iter().map(|r| r.urn));
        targeting.selection(replacing, &urns)
    }

    /// `promote`: the plan with the new value, one commit on a new branch, the pull request's body.
    async fn promote<F: Fn(&Stack) -> crate::Result>(
        &self,
        program: &F,
        promotion: &crate::promote::Promotion,
        repo: &crate::promote::ProjectRepo,
        out: Option<&std::path::Path>,
    ) -> anyhow::Result<ExitCode> {
        let declared = self.run_program(program, &Imports { specs: Vec::new() })?;
        let progress = Progress::new(true, self.stack.as_str(), self.project.as_str());
        let plan = self.runner(&progress).preview_with(&declared, &PlanOptions::default()).await?;
        let (stack, project) = (self.stack.as_str(), self.project.as_str());
        let message = format!(
            "Promote {} to {} on {stack}\n\n{} = {} (was {}), written by `cairn promote`; nothing is applied until a \
             person merges this and runs `up --stack {stack}`.\n",
            promotion.key, promotion.new, promotion.key, promotion.new, promotion.old
        );
        let commit = repo.commit(&promotion.new_text, &message)?;
        let body = crate::promote::pull_request_body(
            promotion,
            repo,
            &commit,
            stack,
            &render::plan_markdown(&plan, stack, project),
            &plan,
        );
        match out {
            Some(path) => crate::config_edit::write_whole(path, &body)?,
            None => print!("{body}"),
        }
        let changes = render::changes_or_none(&plan);
        eprintln!(
            "Created branch {} (commit {}) changing `{}` from {} to {} in {}; its plan: {changes}. Nothing was \
             applied. Push the branch and open a pull request{}.",
            repo.branch(),
            &commit[..commit.len().min(12)],
            promotion.key,
            promotion.old,
            promotion.new,
            promotion.path.display(),
            out.map(|p| format!(" with the body in {}", p.display())).unwrap_or_default()
        );
        Ok(ExitCode::SUCCESS)
    }

    async fn preview(
        &self,
        declared: &DeclaredStack,
        exit: PreviewExit,
        options: &PlanOptions,
        out: Option<&std::path::Path>,
    ) -> anyhow::Result<ExitCode> {
        let progress = self.progress();
        let plan = self.runner(&progress).preview_with(declared, options).await?;
        if let Some(refresh) = &plan.refresh {
            refresh.complete()?;
        }
        if let Some(path) = out {
            // The file records every provider the plan names, even those an
            // unchanged plan never had to start.
            let packages: std::collections::BTreeSet<&str> = plan.steps.iter().map(|s| s.ty.package()).collect();
            for package in packages {
                self.providers.provider(package).await?;
            }
            let file = PlanFile::new(
                &plan,
                self.project.as_str(),
                self.stack.as_str(),
                self.providers.versions(),
                &options.selection,
            );
            let cipher = cipher(&self.config, &self.project, &self.stack).await?;
            file.write(path, cipher.as_ref()).await?;
            eprintln!(
                "Saved the plan to {} ({}). `up --plan {}` applies exactly it, or refuses if anything moved.",
                path.display(),
                render::changes_or_none(&plan),
                path.display()
            );
        }
        let governance = self.governance()?;
        let (cost, document) = governance.assess(&plan);
        if let Some(path) = &exit.policy_input {
            let text = serde_json::to_string_pretty(&document.to_json())?;
            crate::config_edit::write_whole(path, &format!("{text}\n"))?;
        }
        let policy = governance.judge(&cost, &document).map_err(|e| anyhow!("{}: {e}", self.config.path.display()))?;
        if self.json {
            let mut doc = render::plan_json(&plan, self.stack.as_str(), self.project.as_str());
            doc["policy"] = render::policy_json(&policy);
            doc["cost"] = render::cost_json(&cost);
            self.print_json(&doc)?;
        } else if exit.markdown {
            print!("{}", render::plan_markdown(&plan, self.stack.as_str(), self.project.as_str()));
            print!("{}", render::cost_markdown(&cost));
            print!("{}", render::policy_markdown(&policy));
        } else {
            eprint!("{}", render::cost_text(&cost));
            eprint!("{}", render::policy_text(&policy));
        }
        if !policy.passes() {
            bail!(
                "{} mandatory policy violation(s): `up` would refuse this plan; fix them, or record an exception \
                 ([[policy.exception]] in {})",
                policy.blocking().count(),
                self.config.path.display()
            );
        }
        let changes = !plan.changes_nothing();
        if exit.expect_no_changes && changes {
            bail!("--expect-no-changes: stack `{}` has changes to make ({})", self.stack, render::changes_text(&plan));
        }
        cairn_engine::drop_aside((plan, cost, document));
        Ok(if exit.detailed_exitcode && changes { ExitCode::from(2) } else { ExitCode::SUCCESS })
    }

    /// `import`: reads each resource, adopts it in an `up` of those
    /// resources alone (under the lock, recorded in history; the rest of the
    /// program is left as it is), then prints its declaration.
    async fn import<F: Fn(&Stack) -> crate::Result>(
        &self,
        program: &F,
        specs: Vec<ImportSpec>,
        yes: bool,
        out: Option<&std::path::Path>,
    ) -> anyhow::Result<ExitCode> {
        let mut declared = self.run_program(program, &Imports { specs: Vec::new() })?;
        let recorded = self.store.read(&self.project, &self.stack).await?.state;
        let mut adopted: Vec<(ImportSpec, Declaration)> = Vec::new();
        let mut targets = Vec::new();
        for spec in specs {
            let ImportSpec { ty, name, id, origin } = &spec;
            let urn = Urn::new(&self.stack, &self.project, None, ty, name)
                .with_context(|| format!("{origin}: `{name}` cannot name a resource"))?;
            if declared.resources.iter().any(|r| r.urn == urn) {
                bail!(
                    "{origin}: the program already declares `{name}` ({urn}); to adopt an existing resource for it, \
                     run `up --import {name}={id}`"
                );
            }
            if recorded.resources.iter().any(|r| r.urn == urn && !r.pending_delete) {
                bail!("{origin}: stack `{}` already records {urn}; import it under another name", self.stack);
            }
            if adopted.iter().any(|(s, _)| s.ty == *ty && s.name == *name) {
                bail!("{origin}: `{name}` ({ty}) is imported twice; give each resource its own name");
            }
            let provider = self.providers.provider(ty.package()).await?;
            let read = ReadRequest {
                urn: urn.clone(),
                id: Some(id.clone()),
                inputs: Value::Map(Default::default()),
                outputs: None,
            };
            let live = provider
                .read(read)
                .await
                .with_context(|| format!("{origin}: reading {ty} `{id}`"))?
                .ok_or_else(|| anyhow!("{origin}: there is no {ty} with ID `{id}`; check the ID"))?;
            let declaration = provider
                .declaration(DeclarationRequest { urn: urn.clone(), inputs: live.inputs })
                .await
                .with_context(|| format!("{origin}: writing the code of {ty} `{id}`"))?;
            targets.push(urn.clone());
            declared.resources.push(DeclaredResource {
                urn,
                kind: ResourceKind::Custom,
                parent: None,
                inputs: declaration.inputs.clone(),
                outputs: Vec::new(),
                dependencies: Default::default(),
                protect: false,
                import: Some(id.clone()),
                exports: Default::default(),
                lifecycle: Default::default(),
            });
            adopted.push((spec, declaration));
        }
        // Only the adopted resources: the rest of the program is left as it is.
        let selection = Selection { targets, ..Selection::default() };
        let options = RunOptions { plan: PlanOptions { refresh: false, selection }, ..RunOptions::default() };
        let ask = Ask { yes, json: self.json, expect_no_changes: false };
        let governed = Governed { inner: &ask, governance: self.governance()? };
        let progress = self.progress();
        let run = self.runner(&progress).up(&declared, &options, &governed).await?;
        let (stack, project) = (self.stack.as_str(), self.project.as_str());
        let report = match &run.outcome {
            RunOutcome::Applied(report) if !report.failed() => report,
            _ => return self.report(&run),
        };
        let code = crate::import_code::code(&adopted, stack);
        if let Some(path) = out {
            crate::config_edit::write_whole(path, &code)?;
        }
        if self.json {
            let mut doc = render::report_json(&run.plan, report, stack, project);
            doc["code"] = serde_json::Value::String(code);
            self.print_json(&doc)?;
        } else {
            eprint!("{}", render::report_text(report));
            match out {
                Some(path) => eprintln!("Wrote the declarations to {}: paste them into the program.", path.display()),
                None => print!("{code}"),
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    /// The stack's policies: the built-in packs and Rego files its `[policy]`
    /// names, at the levels it sets; or the built-in pack as warnings only
    /// when it has no `[policy]`.
    fn governance(&self) -> anyhow::Result<Governance> {
        let config = self.config.policy.clone().unwrap_or_default();
        let policies =
            cairn_policy::PolicySet::for_stack(config, self.config.policy.is_none(), &self.config.project_dir)
                .map_err(|e| anyhow!("{}: {e}", self.config.path.display()))?;
        let stack = StackInfo {
            project: self.project.to_string(),
            stack: self.stack.to_string(),
            config: self.config.config.plain_values(),
            tags: self.config.config.tags().clone(),
        };
        let cost = &self.config.cost;
        let mut prices = cairn_cost::PriceTable::shipped();
        if let Some(file) = &cost.prices {
            let path = self.config.project_dir.join(file);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("{}: [cost] prices = {}: cannot read it", self.config.path.display(), path.display())
            })?;
            prices = prices.with_overrides(&path.display().to_string(), &text)?;
        }
        let region = cost
            .region
            .clone()
            .or_else(|| {
                self.config
                    .providers
                    .get("aws")
                    .and_then(|c| c.get("region"))
                    .and_then(|r| r.as_str().map(str::to_owned))
            })
            .unwrap_or_else(|| "us-east-1".to_owned());
        Ok(Governance {
            policies,
            stack,
            json: self.json,
            prices,
            region,
            usage: cost.usage.clone(),
            budget: cost.budget,
            config_file: self.config.path.display().to_string(),
        })
    }

    /// `policy test FILE...`: the stack's policies over saved plan documents.
    fn policy_test(&self, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
        let governance = self.governance()?;
        let mut failed = 0;
        let mut results = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let json: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
            let document =
                cairn_policy::PlanDocument::from_json(&json).with_context(|| format!("{}", file.display()))?;
            let report = governance.policies.evaluate(&document).with_context(|| format!("{}", file.display()))?;
            let mut found: Vec<(String, String)> = report
                .violations
                .iter()
                .filter(|v| v.waived.is_none())
                .map(|v| (v.policy.clone(), v.urn.clone()))
                .collect();
            found.sort();
            let (passed, verdict) = match cairn_policy::expectations(&json) {
                Some(mut expected) => {
                    expected.sort();
                    let missing: Vec<String> =
                        expected.iter().filter(|e| !found.contains(e)).map(|(p, u)| format!("{p} on {u}")).collect();
                    let unexpected: Vec<String> =
                        found.iter().filter(|f| !expected.contains(f)).map(|(p, u)| format!("{p} on {u}")).collect();
                    let mut why = Vec::new();
                    if !missing.is_empty() {
                        why.push(format!("expected but not found: {}", missing.join("; ")));
                    }
                    if !unexpected.is_empty() {
                        why.push(format!("found but not expected: {}", unexpected.join("; ")));
                    }
                    (
                        why.is_empty(),
                        if why.is_empty() {
                            format!("{} violation(s), as expected", found.len())
                        } else {
                            why.join(". ")
                        },
                    )
                }
                None if report.passes() => {
                    (true, format!("no mandatory violation ({} advisory)", report.violations.len()))
                }
                None => (false, format!("{} mandatory violation(s)", report.blocking().count())),
            };
            if !passed {
                failed += 1;
            }
            if self.json {
                results.push(serde_json::json!({
                    "file": file.display().to_string(),
                    "passed": passed,
                    "verdict": verdict,
                    "policy": render::policy_json(&report),
                }));
            } else {
                eprintln!("{} {}: {verdict}", if passed { "ok" } else { "FAILED" }, file.display());
                if !passed {
                    eprint!("{}", render::policy_text(&report));
                }
            }
        }
        if self.json {
            self.print_json(&serde_json::json!({ "files": results, "failed": failed }))?;
        }
        Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }

    /// `graph`: the declared resources and their dependencies, as DOT on stdout.
    fn graph<F: Fn(&Stack) -> crate::Result>(&self, program: &F) -> anyhow::Result<ExitCode> {
        let declared = self.run_program(program, &Imports { specs: Vec::new() })?;
        print!("{}", render::graph_dot(&declared, self.stack.as_str(), self.project.as_str()));
        Ok(ExitCode::SUCCESS)
    }

    /// `stack ls`: the project's stacks in the backend.
    async fn stack_ls(&self) -> anyhow::Result<ExitCode> {
        let mut rows = Vec::new();
        for name in self.store.list_stacks(&self.project).await? {
            let state = self.store.read(&self.project, &name).await?.state;
            // A backend may keep no history (an S3 bucket without versioning): then no date.
            let updated =
                self.store.history(&self.project, &name).await.ok().and_then(|h| h.last().map(|v| v.time.clone()));
            let lock = self.store.current_lock(&self.project, &name).await?;
            let resources =
                state.resources.iter().filter(|r| !r.pending_delete && r.kind == ResourceKind::Custom).count();
            rows.push((name, resources, state.serial, updated, lock));
        }
        if self.json {
            let stacks: Vec<serde_json::Value> = rows
                .iter()
                .map(|(name, resources, serial, updated, lock)| {
                    serde_json::json!({
                        "stack": name.as_str(),
                        "resources": resources,
                        "serial": serial,
                        "last_update": updated,
                        "locked_by": lock.as_ref().map(|l| l.who.clone()),
                        "current": name == &self.stack,
                    })
                })
                .collect();
            self.print_json(&serde_json::json!({ "project": self.project.as_str(), "stacks": stacks }))?;
            return Ok(ExitCode::SUCCESS);
        }
        if rows.is_empty() {
            eprintln!("project {} has no stacks in {}", self.project, self.store.describe());
            return Ok(ExitCode::SUCCESS);
        }
        println!("{:<2}{:<20} {:>9} {:>7}  {:<20}  lock", "", "stack", "resources", "serial", "last update");
        for (name, resources, serial, updated, lock) in &rows {
            let mark = if name == &self.stack { "*" } else { "" };
            let lock = lock.as_ref().map_or(String::new(), |l| format!("{} ({})", l.who, l.operation));
            println!(
                "{mark:<2}{:<20} {resources:>9} {serial:>7}  {:<20}  {lock}",
                name.as_str(),
                updated.as_deref().unwrap_or("-")
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    /// `stack rm`: removes the stack from the backend.
    async fn stack_rm(&self, force: bool, yes: bool) -> anyhow::Result<ExitCode> {
        if !yes {
            if !std::io::stdin().is_terminal() || self.json {
                bail!("refusing to remove stack `{}` without confirmation: pass --yes", self.stack);
            }
            eprint!(
                "Remove stack `{}` from {} (its state, journal and history)? [y/N] ",
                self.stack,
                self.store.describe()
            );
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "yes" | "Y") {
                eprintln!("Cancelled: nothing was removed.");
                return Ok(ExitCode::FAILURE);
            }
        }
        let runner = StackRunner::new(self.project.clone(), self.stack.clone(), &*self.store, &self.providers)
            .lock_options(self.lock);
        let forgotten = runner.remove(force).await?;
        let note = if forgotten > 0 {
            format!("; {forgotten} resources it recorded are left in the cloud, unmanaged")
        } else {
            String::new()
        };
        eprintln!("removed stack `{}` from {}{note}", self.stack, self.store.describe());
        Ok(ExitCode::SUCCESS)
    }

    /// `stack output [NAME]`: the outputs the last `up` recorded.
    async fn stack_output(&self, name: Option<&str>, show_secrets: bool) -> anyhow::Result<ExitCode> {
        let replayed = self.store.read(&self.project, &self.stack).await?;
        let state = replayed.state;
        if state.serial == 0 && state.resources.is_empty() {
            bail!("stack `{}` has not been brought up in {}: run `up` first", self.stack, self.store.describe());
        }
        let shown = |v: &Value| if show_secrets { v.strip_secrets().to_json() } else { render::output_json(v) };
        match name {
            Some(name) => {
                let Some(value) = state.outputs.get(name) else {
                    let known: Vec<&str> = state.outputs.keys().map(String::as_str).collect();
                    bail!(
                        "stack `{}` has no output `{name}`; its outputs: {}",
                        self.stack,
                        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                    );
                };
                match shown(value) {
                    serde_json::Value::String(s) if !self.json => println!("{s}"),
                    other => println!("{other}"),
                }
            }
            None if self.json => {
                let all: serde_json::Map<String, serde_json::Value> =
                    state.outputs.iter().map(|(k, v)| (k.clone(), shown(v))).collect();
                self.print_json(&serde_json::json!({ "stack": self.stack.as_str(), "outputs": all }))?;
            }
            None => {
                for (k, v) in &state.outputs {
                    println!("{k} = {}", shown(v));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    async fn up(&self, declared: &DeclaredStack, ask: Ask, options: &RunOptions) -> anyhow::Result<ExitCode> {
        let progress = self.progress();
        let governed = Governed { inner: &ask, governance: self.governance()? };
        let report = self.runner(&progress).up(declared, options, &governed).await?;
        self.report(&report)
    }

    /// `up --plan FILE`: plans again and applies only if that is the saved plan.
    async fn up_saved<F: Fn(&Stack) -> crate::Result>(
        &self,
        program: &F,
        imports: &Imports,
        path: &std::path::Path,
        parallel: usize,
    ) -> anyhow::Result<ExitCode> {
        let cipher = cipher(&self.config, &self.project, &self.stack).await?;
        let file = PlanFile::read(path, self.project.as_str(), self.stack.as_str(), cipher.as_ref()).await?;
        // Started now, so that the gate knows each one's version.
        for package in file.providers.keys() {
            self.providers.provider(package).await?;
        }
        let declared = self.run_program(program, imports)?;
        let plan = PlanOptions { refresh: file.refresh, selection: file.targeting.selection() };
        let options = RunOptions { plan, ..RunOptions::parallelism(parallel) };
        let gate = SavedPlanGate { file, path: path.to_owned(), providers: &self.providers };
        let governed = Governed { inner: &gate, governance: self.governance()? };
        let progress = self.progress();
        let report = self.runner(&progress).up(&declared, &options, &governed).await?;
        self.report(&report)
    }

    /// `refresh`: records what the cloud holds.
    async fn refresh(&self, yes: bool) -> anyhow::Result<ExitCode> {
        let progress = self.progress();
        let ask = Ask { yes, json: self.json, expect_no_changes: false };
        let run = self.runner(&progress).refresh(&RunOptions::default(), &ask).await?;
        let (stack, project) = (self.stack.as_str(), self.project.as_str());
        let Some(report) = run.apply_report() else {
            eprintln!("Cancelled: nothing was recorded.");
            return Ok(ExitCode::FAILURE);
        };
        if self.json {
            let mut doc = render::drift_report_json(&run.plan, stack, project);
            doc["serial"] = serde_json::json!(report.state.serial);
            self.print_json(&doc)?;
        } else if let RunOutcome::Unchanged(_) = run.outcome {
            eprintln!("Nothing to record: the state matches the cloud.");
        } else {
            let (changed, missing) = run.plan.refresh.as_ref().map(|r| r.counts()).unwrap_or_default();
            eprintln!(
                "Recorded: {changed} changed, {missing} missing removed from the state (serial {}). `preview` shows \
                 what `up` would change to put them back to the program.",
                report.state.serial
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    /// `drift`: the refresh a preview makes first, reported; writes nothing.
    async fn drift<F: Fn(&Stack) -> crate::Result>(&self, program: &F, markdown: bool) -> anyhow::Result<ExitCode> {
        let declared = self.run_program(program, &Imports { specs: Vec::new() })?;
        // The drift report is the display; the plan tree is not shown.
        let progress = Progress::new(true, self.stack.as_str(), self.project.as_str());
        let plan = self
            .runner(&progress)
            .preview_with(&declared, &PlanOptions { refresh: true, ..PlanOptions::default() })
            .await?;
        let (stack, project) = (self.stack.as_str(), self.project.as_str());
        if self.json {
            self.print_json(&render::drift_report_json(&plan, stack, project))?;
        } else if markdown {
            print!("{}", render::drift_markdown(&plan, stack, project));
        } else {
            eprintln!("Drift of stack {stack} (project {project})\n");
            eprint!("{}", render::drift_text(&plan));
            let changes = render::changes_text(&plan);
            if !changes.is_empty() {
                eprintln!("\n`up --refresh` would put the cloud back to the program: {changes}.");
            }
        }
        let refresh = plan.refresh.as_ref().expect("a refreshing preview carries its refresh");
        if !refresh.unreadable.is_empty() {
            // The report above names each; the exit says the answer is incomplete.
            eprintln!("error: {}", refresh.complete().unwrap_err());
            return Ok(ExitCode::FAILURE);
        }
        Ok(if refresh.no_drift() { ExitCode::SUCCESS } else { ExitCode::from(2) })
    }

    async fn destroy(&self, yes: bool, options: RunOptions) -> anyhow::Result<ExitCode> {
        let progress = self.progress();
        let ask = Ask { yes, json: self.json, expect_no_changes: false };
        let report = self.runner(&progress).destroy(&options, &ask).await?;
        self.report(&report)
    }

    /// Prints how a run ended; a failed step or a cancelled run exits non-zero.
    fn report(&self, run: &RunReport) -> anyhow::Result<ExitCode> {
        let (stack, project) = (self.stack.as_str(), self.project.as_str());
        match &run.outcome {
            RunOutcome::Cancelled => {
                eprintln!("Cancelled: nothing was changed.");
                Ok(ExitCode::FAILURE)
            }
            RunOutcome::Unchanged(report) => {
                if self.json {
                    self.print_json(&render::report_json(&run.plan, report, stack, project))?;
                }
                Ok(ExitCode::SUCCESS)
            }
            RunOutcome::Applied(report) => {
                if self.json {
                    let mut doc = render::report_json(&run.plan, report, stack, project);
                    if !run.notes.is_empty() {
                        doc["notes"] = serde_json::json!(run.notes);
                    }
                    self.print_json(&doc)?;
                } else {
                    eprint!("{}", render::report_text(report));
                    for note in &run.notes {
                        eprintln!("{note}");
                    }
                }
                Ok(if report.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
            }
        }
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
            StateCommand::History => {
                let versions = self.store.history(&self.project, &self.stack).await?;
                if self.json {
                    self.print_json(&serde_json::json!({ "stack": self.stack.as_str(), "versions": versions }))?;
                } else {
                    eprintln!("{:>8}  {:<20}  {:<8}  {:<24}  changes", "serial", "time", "command", "who");
                    for v in &versions {
                        let c = &v.changes;
                        eprintln!(
                            "{:>8}  {:<20}  {:<8}  {:<24}  +{} ~{} -{} ({} resources)",
                            v.serial, v.time, v.operation, v.who, c.created, c.updated, c.deleted, c.resources
                        );
                    }
                }
            }
            StateCommand::Export { serial } => {
                let state = match serial {
                    None => {
                        let r = self.store.read(&self.project, &self.stack).await?;
                        if !r.pending.is_empty() {
                            bail!(
                                "stack `{}` has {} operation(s) an interrupted run left pending; run `up` to settle them, then export",
                                self.stack,
                                r.pending.len()
                            );
                        }
                        r.state
                    }
                    Some(n) => self.store.version(&self.project, &self.stack, n).await?.ok_or_else(|| {
                        anyhow!(
                            "stack `{}` has no version {n} in {}; see `state history`",
                            self.stack,
                            self.store.describe()
                        )
                    })?,
                };
                println!("{}", serde_json::to_string_pretty(&state)?);
            }
            StateCommand::Encrypt => {
                let session =
                    cairn_state::lock(&*self.store, &self.project, &self.stack, "encrypt", &self.lock).await?;
                let result = async {
                    let r = session.read().await?;
                    if !r.pending.is_empty() {
                        bail!("stack `{}` has operations an interrupted run left pending; run `up` first", self.stack);
                    }
                    let mut state = r.state;
                    state.serial += 1;
                    session.compact(&state, &Default::default()).await?;
                    Ok(state.resources.len())
                }
                .await;
                session.release().await?;
                let n = result?;
                eprintln!("sealed the secrets of stack {} ({n} resources) in {}", self.stack, self.store.describe());
            }
            StateCommand::Delete { resource, force } => {
                let urn = self.recorded_urn("state delete", &resource).await?;
                let runner = StackRunner::new(self.project.clone(), self.stack.clone(), &*self.store, &self.providers)
                    .lock_options(self.lock);
                let state =
                    runner.repair("state delete", |s| cairn_engine::repair::delete_record(s, &urn, force)).await?;
                eprintln!(
                    "forgot {urn} (the cloud resource is left as it is); stack {} is at serial {}",
                    self.stack, state.serial
                );
            }
            StateCommand::Move { from, to } => {
                let from = self.recorded_urn("state move", &from).await?;
                let to = if to.starts_with("urn:") {
                    Urn::parse(&to).map_err(|e| anyhow!("state move: `{to}` is not a URN: {e}"))?
                } else {
                    let (base, _) = from.as_str().rsplit_once("::").expect("a URN ends with ::NAME");
                    Urn::parse(&format!("{base}::{to}"))
                        .map_err(|e| anyhow!("state move: `{to}` is not a name: {e}"))?
                };
                let runner = StackRunner::new(self.project.clone(), self.stack.clone(), &*self.store, &self.providers)
                    .lock_options(self.lock);
                let state = runner.repair("state move", |s| cairn_engine::repair::move_record(s, &from, &to)).await?;
                eprintln!("recorded {from} as {to}; stack {} is at serial {}", self.stack, state.serial);
            }
            StateCommand::Import { file } => {
                let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
                let incoming: cairn_state::StackState = serde_json::from_str(&text)
                    .map_err(|e| anyhow!("{} is not an exported Cairn state: {e}", file.display()))?;
                let written =
                    cairn_state::transfer::import(&*self.store, &self.project, &self.stack, incoming, &self.lock)
                        .await?;
                eprintln!(
                    "imported {} resources into stack {} at {} (serial {})",
                    written.resources.len(),
                    self.stack,
                    self.store.describe(),
                    written.serial
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// How `preview` reports beyond the plan.
struct PreviewExit {
    detailed_exitcode: bool,
    expect_no_changes: bool,
    markdown: bool,
    /// Where to write the plan document policies read.
    policy_input: Option<PathBuf>,
}

/// Asks on the terminal before a plan with changes is applied, unless
/// `--yes`; refuses any change with `--expect-no-changes`.
struct Ask {
    yes: bool,
    json: bool,
    expect_no_changes: bool,
}

/// The stack's policies and cost settings, with what they read of it.
struct Governance {
    policies: cairn_policy::PolicySet,
    stack: StackInfo,
    json: bool,
    prices: cairn_cost::PriceTable,
    region: String,
    usage: cairn_cost::Usage,
    /// The monthly budget, if the stack sets one.
    budget: Option<f64>,
    /// The stack's config file, for messages.
    config_file: String,
}

impl Governance {
    /// The plan's monthly cost, and the plan document policies read (each
    /// resource with its cost estimate).
    fn assess(&self, plan: &Plan) -> (cairn_cost::PlanCost, cairn_policy::PlanDocument) {
        let cost = self.cost(plan);
        let priced: std::collections::HashMap<&str, cairn_policy::MonthlyCost> = cost
            .resources
            .iter()
            .filter_map(|r| match r.after {
                Some(cairn_cost::Monthly::Known { desired, max, .. }) => {
                    Some((r.urn.as_str(), cairn_policy::MonthlyCost { desired, max }))
                }
                _ => None,
            })
            .collect();
        let document = cairn_policy::PlanDocument::new(plan, self.stack.clone())
            .with_costs(|urn| priced.get(urn.as_str()).copied());
        (cost, document)
    }

    /// The policies' findings on the document, with the budget's on the cost.
    fn judge(
        &self,
        cost: &cairn_cost::PlanCost,
        document: &cairn_policy::PlanDocument,
    ) -> Result<cairn_policy::PolicyReport, cairn_policy::PolicyError> {
        let mut report = self.policies.evaluate(document)?;
        report.violations.extend(self.budget_violation(cost));
        Ok(report)
    }

    /// The plan's monthly cost. Components are not priced themselves: their
    /// children are (listing every component as "price unknown" hid the
    /// resources that really lack a price).
    fn cost(&self, plan: &Plan) -> cairn_cost::PlanCost {
        let rows = plan.steps.iter().filter(|step| step.kind == ResourceKind::Custom).map(|step| {
            let (old, new) = (step.recorded(), step.desired());
            let component = match new {
                Some(n) => n.parent.as_ref(),
                None => old.and_then(|o| o.parent.as_ref()),
            };
            cairn_cost::Row {
                urn: step.urn.as_str(),
                ty: step.ty.as_str(),
                component: component.map(Urn::as_str),
                old: old.map(|o| &o.inputs),
                new: new.map(|n| &n.inputs),
            }
        });
        cairn_cost::estimate_plan(rows, &self.region, &self.prices, &self.usage)
    }

    /// A mandatory violation when the estimate exceeds the stack's budget,
    /// naming the largest contributors.
    fn budget_violation(&self, cost: &cairn_cost::PlanCost) -> Option<cairn_policy::Violation> {
        let budget = self.budget?;
        if cost.after <= budget {
            return None;
        }
        let largest: Vec<String> = cost
            .largest(3)
            .into_iter()
            .map(|(urn, amount)| format!("{} ${amount:.2}", urn.rsplit("::").next().unwrap_or(urn)))
            .collect();
        Some(cairn_policy::Violation {
            policy: "cost/budget".to_owned(),
            level: cairn_policy::Level::Mandatory,
            urn: format!("stack {}", self.stack.stack),
            finding: cairn_policy::Finding::new(
                "cost.budget",
                format!(
                    "the estimate ${:.2}/month exceeds the budget ${budget:.2}; largest: {}",
                    cost.after,
                    largest.join(", ")
                ),
                format!("shrink the largest contributors, or raise `budget` under [cost] in {}", self.config_file),
            ),
            waived: None,
        })
    }
}

/// A confirmation that first checks the plan against the stack's policies:
/// a mandatory violation refuses the run before anything is written.
struct Governed<'a, C: Confirm> {
    inner: &'a C,
    governance: Governance,
}

impl<C: Confirm> Confirm for Governed<'_, C> {
    fn gate(&self, command: RunCommand, plan: &Plan) -> Result<(), Refusal> {
        if command != RunCommand::Destroy {
            let (cost, document) = self.governance.assess(plan);
            let report =
                self.governance.judge(&cost, &document).map_err(|e| Refusal(format!("{e}; nothing was applied")))?;
            if !self.governance.json {
                eprint!("{}", render::cost_text(&cost));
                eprint!("{}", render::policy_text(&report));
            }
            if !report.passes() {
                let listed: Vec<String> = report
                    .blocking()
                    .map(|v| format!("  {} (fix: {})", render::violation_text(v), v.finding.fix))
                    .collect();
                return Err(Refusal(format!(
                    "{} mandatory policy violation(s); nothing was applied:\n{}",
                    listed.len(),
                    listed.join("\n")
                )));
            }
        }
        self.inner.gate(command, plan)
    }

    fn confirm(&self, command: RunCommand, plan: &Plan) -> Result<bool, Refusal> {
        self.inner.confirm(command, plan)
    }
}

impl Confirm for Ask {
    /// `--expect-no-changes` refuses any change, the state's included (new
    /// dependencies or options to record), before anything is written.
    fn gate(&self, _: RunCommand, plan: &Plan) -> Result<(), Refusal> {
        if self.expect_no_changes && !plan.changes_nothing() {
            return Err(Refusal(format!(
                "--expect-no-changes: the plan has changes ({}); nothing was applied",
                render::changes_text(plan)
            )));
        }
        Ok(())
    }

    fn confirm(&self, command: RunCommand, _: &Plan) -> Result<bool, Refusal> {
        let what = command.question();
        if self.yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() || self.json {
            return Err(Refusal(format!("refusing to {what} without confirmation: pass --yes")));
        }
        eprint!("Do you want to {what}? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map_err(|e| Refusal(format!("cannot read the answer: {e}")))?;
        Ok(matches!(answer.trim(), "y" | "yes" | "Y"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that prints its source and also returns it, as `StateError::Io` does.
    #[derive(Debug)]
    struct SaysItsSource(std::io::Error);

    impl std::fmt::Display for SaysItsSource {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot append to the journal: {}", self.0)
        }
    }

    impl std::error::Error for SaysItsSource {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let io = std::io::Error::other("No space left on device");
        let e = anyhow::Error::new(SaysItsSource(io)).context("up of stack dev");
        assert_eq!(error_chain(&e), "up of stack dev: cannot append to the journal: No space left on device");
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_chain(&plain), "outer: inner");
    }
}

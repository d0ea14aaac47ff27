//! Cairn's engine.
//!
//! - [`automation`]: the run lifecycle (lock, settle, plan, confirm, apply,
//!   compact, release) as library calls; the CLI and the tests go through it.
//! - [`planner`]: pure functions that decide each step (no IO).
//! - [`preview`]: drives the planner, asking providers to Check and Diff; changes nothing.
//! - [`executor`]: carries out a [`Plan`] in dependency order with bounded parallelism,
//!   journaling every step.
//! - [`reconcile`]: settles operations a crash left pending.
//! - [`refresh`]: reads every recorded resource and finds what drifted.
//! - [`repair`]: `state delete` and `state move`, as pure edits.
//! - [`saved`]: saved plans, and what moved since one was made.
//! - [`selection`]: `--target`, `--exclude` and `--replace`.
//! - [`providers`]: how the engine obtains a provider per package.
//!
//! **Architecture invariant:** only the executor performs provider calls that
//! change the cloud; reconciliation and refresh read it; preview only calls
//! Check and Diff (after a refresh, when one is asked for).

pub mod automation;
pub mod error;
pub mod executor;
pub mod plan;
pub mod planner;
pub mod preview;
pub mod providers;
pub mod reconcile;
pub mod refresh;
pub mod repair;
pub mod saved;
pub mod selection;
pub mod testing;

pub use automation::{
    AutoApprove, Command, Confirm, PlanOptions, Refusal, RunOptions, RunOutcome, RunReport, StackRunner, drop_aside,
};
pub use error::EngineError;
pub use executor::{ApplyOptions, ApplyReport, Event, Observer, Status, StepOutcome, apply};
pub use plan::{Change, Desired, Op, Plan, Step, Summary};
pub use preview::{preview, preview_replacing};
pub use providers::{ProviderSource, StaticProviders};
pub use reconcile::{Resolution, reconcile};
pub use refresh::{Drift, DriftKind, PropertyDrift, Refresh, read_live};

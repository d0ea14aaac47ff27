//! Engine errors. Each names the resource it is about and, where there is one, the fix.

use cairn_core::{CheckFailure, OutputError, PropertyPath, ProviderError, Urn, Value};
use cairn_state::StateError;

/// An engine failure.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Providers refused some resources' inputs.
    #[error("{}", render_check_failures(.0))]
    CheckFailed(Vec<(Urn, CheckFailure)>),
    /// A provider call failed.
    #[error("{action} {urn}: {source}")]
    Provider {
        /// The resource.
        urn: Urn,
        /// What was being done (`create`, `diff`, ...).
        action: &'static str,
        /// The provider's error.
        #[source]
        source: ProviderError,
    },
    /// An output could not be evaluated into a resource's inputs.
    #[error("resolving the inputs of {urn}: {source}")]
    Output {
        /// The resource.
        urn: Urn,
        /// The cause.
        #[source]
        source: OutputError,
    },
    /// A protected resource would be deleted or replaced.
    #[error(
        "resource {urn} is protected and would be {action}; remove `protect` from its options and run `up` first if this is intended"
    )]
    Protected {
        /// The resource.
        urn: Urn,
        /// What would happen to it.
        action: String,
    },
    /// The provider for a package could not be started or configured.
    #[error("provider `{package}`: {message}")]
    ProviderUnavailable {
        /// The package (`aws`).
        package: String,
        /// What went wrong, with the fix.
        message: String,
    },
    /// A provider failed to finish a run whose state is recorded (a GitOps commit failed).
    #[error(
        "provider `{provider}` could not finish the run: {source}. The state is recorded; the next run that \
         changes something finishes again"
    )]
    Finish {
        /// The package or instance name.
        provider: String,
        /// What it said.
        source: cairn_core::ProviderError,
    },
    /// The state store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The resource an `import` names does not exist.
    #[error(
        "cannot import {urn}: no resource with ID `{id}` exists; check the ID (for a node group: CLUSTER:NODEGROUP) and the provider's region"
    )]
    ImportNotFound {
        /// The resource.
        urn: Urn,
        /// The ID given.
        id: String,
    },
    /// An `import` whose arguments use values not known before apply.
    #[error(
        "cannot import {urn}: its arguments use outputs of resources this run creates, unknown until then; create or import those first, then import this one"
    )]
    ImportUnknown {
        /// The resource.
        urn: Urn,
    },
    /// The declared arguments differ from the live resource an `import` adopts.
    #[error("{}", render_import_mismatch(.urn, .id, .diffs))]
    ImportMismatch {
        /// The resource.
        urn: Urn,
        /// The ID given.
        id: String,
        /// Each differing property: its path, live value and declared value.
        diffs: Vec<(PropertyPath, Option<Value>, Option<Value>)>,
    },
    /// The confirmation question could not be answered.
    #[error(transparent)]
    Refused(#[from] crate::automation::Refusal),
    /// A recorded custom resource has no provider ID, so no provider call can name it.
    #[error(
        "the state records {urn} with no provider ID, so it cannot be {action}: the state is damaged; export it \
         (`state export`), add the resource's ID or remove its record, and import it back (`state import`)"
    )]
    MissingId {
        /// The resource.
        urn: Urn,
        /// What was to be done (`updated`, `replaced`, `deleted`).
        action: &'static str,
    },
    /// `--target`, `--exclude` or `--replace` names a resource the plan does not hold.
    #[error(
        "{flag} {urn}: the program declares no such resource and the state records none; use a URN that `preview` lists"
    )]
    UnknownSelection {
        /// The flag.
        flag: &'static str,
        /// The URN given.
        urn: Urn,
    },
    /// The selection would leave a resource pointing at a copy the run deletes.
    #[error(
        "{urn} would be {action}, but {dependent} depends on it and is left out by --target/--exclude: it would point \
         at the deleted copy; include {dependent} (--target it too, or do not exclude it)"
    )]
    SelectionLeavesDependent {
        /// The resource replaced or deleted.
        urn: Urn,
        /// `replaced` or `deleted`.
        action: &'static str,
        /// The dependent left out.
        dependent: Urn,
    },
    /// A state repair while an interrupted run left operations pending.
    #[error(
        "an interrupted run left {count} operation(s) pending; run `up` (or `refresh`) first so they are settled, \
         then repair the state"
    )]
    PendingOperations {
        /// How many.
        count: usize,
    },
    /// A state repair named a resource the state does not record, or would break it.
    #[error("{0}")]
    Repair(String),
    /// Two declared resources name the same recorded resource as their alias.
    #[error("{first} and {second} both give {alias} as an alias; only one can take it over: remove the alias from one")]
    AliasTaken {
        /// The alias.
        alias: Urn,
        /// The first resource that claims it.
        first: Urn,
        /// The second.
        second: Urn,
    },
    /// A refresh could not read some resources, so it cannot say what is live.
    #[error("{}", render_unreadable(.0))]
    Unreadable(Vec<(Urn, ProviderError)>),
    /// The plan was made against another state.
    #[error(
        "the plan was made against state serial {planned} but the state is now at serial {current}: run preview again"
    )]
    StalePlan {
        /// The serial the plan saw.
        planned: u64,
        /// The serial now.
        current: u64,
    },
}

fn render_check_failures(failures: &[(Urn, CheckFailure)]) -> String {
    let mut out = format!("{} invalid input{}:", failures.len(), if failures.len() == 1 { "" } else { "s" });
    for (urn, f) in failures {
        let at = if f.property.0.is_empty() { String::new() } else { format!(" property `{}`", f.property) };
        out.push_str(&format!("\n  - {urn}{at}: {}", f.reason));
    }
    out
}

fn render_unreadable(failures: &[(Urn, ProviderError)]) -> String {
    let mut out = format!(
        "the refresh could not read {} resource{}, so nothing was recorded; fix the cause (credentials, \
         permissions, the provider's region) and run again:",
        failures.len(),
        if failures.len() == 1 { "" } else { "s" }
    );
    for (urn, e) in failures {
        out.push_str(&format!("\n  - {urn}: {e}"));
    }
    out
}

fn render_import_mismatch(urn: &Urn, id: &str, diffs: &[(PropertyPath, Option<Value>, Option<Value>)]) -> String {
    let mut out = format!(
        "cannot import {urn} (ID `{id}`): its declared arguments differ from the live resource in {} propert{}; \
         change the program to match, then import (an import adopts a resource, it never changes it):",
        diffs.len(),
        if diffs.len() == 1 { "y" } else { "ies" }
    );
    let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "(absent)".to_owned(), ToString::to_string);
    for (path, live, declared) in diffs {
        out.push_str(&format!("\n  - `{path}`: live {}, declared {}", show(live), show(declared)));
    }
    out
}

//! Policy as code on every plan: each declared resource of a computed plan
//! is checked before anything is applied, by policies written in Rust (the
//! [`Policy`] trait, reading resources through the argument structs programs
//! use). A violation names the policy, the resource, the property and the
//! fix; a mandatory one stops `up`, an advisory one is shown. A stack's
//! `[policy]` config sets levels, the pack's settings, and exceptions.
//!
//! [`ai_pack`] is the built-in AI platform pack.
//!
//! ```
//! use cairn_policy::{PolicyConfig, PolicySet, ai_pack};
//! let set = PolicySet::new(ai_pack::policies(), PolicyConfig::default(), false).unwrap();
//! # let _ = set;
//! ```

pub mod ai_pack;
pub mod document;
pub mod policy;
pub mod rego;

pub use document::{DOCUMENT_VERSION, DocumentError, MonthlyCost, PlanDocument, ResourceDoc, StackInfo, expectations};
pub use policy::{
    Exception, Finding, Level, Policy, PolicyConfig, PolicyContext, PolicyError, PolicyReport, PolicySet, Settings,
    Violation,
};

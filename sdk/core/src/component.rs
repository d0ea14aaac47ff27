//! Components: typed groups of resources, declared like a resource.
//!
//! A component type is an arguments struct implementing [`ComponentArgs`]:
//! [`ComponentArgs::validate`] checks the arguments before anything is
//! declared, and [`ComponentArgs::expand`] declares the children into a
//! [`Scope`] and returns the component's handle. Declaring it is one call,
//! [`Stack::component`], with [`crate::ResourceOptions`] that apply to every
//! child (`protect`, `depends_on`) through [`Stack::component_with`].
//!
//! ```
//! use cairn_core::{ComponentArgs, Config, DeclareError, InvalidArgs, Output, ProjectName, Scope, Stack, StackName, Urn};
//!
//! /// Two queues that always come together.
//! pub struct PairArgs { pub size: u32 }
//! /// The handle: the component's URN and its outputs.
//! pub struct Pair { pub urn: Urn, pub size: Output<u32> }
//!
//! impl ComponentArgs for PairArgs {
//!     type Component = Pair;
//!     const TYPE: &'static str = "acme:queues:Pair";
//!     fn validate(&self, _ctx: &Stack) -> Result<(), InvalidArgs> {
//!         if self.size == 0 {
//!             return Err(InvalidArgs::new("size", "is 0", "give at least 1"));
//!         }
//!         Ok(())
//!     }
//!     fn expand(self, scope: &Scope) -> Result<Pair, DeclareError> {
//!         let size = Output::new(self.size);
//!         scope.output("size", &size);
//!         Ok(Pair { urn: scope.urn().clone(), size })
//!     }
//! }
//!
//! let ctx = Stack::new(StackName::new("dev").unwrap(), ProjectName::new("demo").unwrap(), Config::default());
//! let pair = ctx.component("jobs", PairArgs { size: 2 }).unwrap();
//! assert!(pair.urn.as_str().ends_with("acme:queues:Pair::jobs"));
//! let err = ctx.component("none", PairArgs { size: 0 }).err().unwrap().to_string();
//! assert!(err.contains("`size` is 0") && err.contains("give at least 1"), "{err}");
//! ```

use std::ops::Deref;

use crate::context::{DeclareError, Stack};
use crate::output::Output;
use crate::urn::Urn;

/// Arguments a component refuses: the field, what is wrong, and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}; {fix}")]
pub struct InvalidArgs {
    /// The argument's name (a path such as `scaling.max_size` where it helps).
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl InvalidArgs {
    /// A refusal of `field`: `problem` says what is wrong, `fix` what to do.
    pub fn new(field: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into(), fix: fix.into() }
    }
}

/// The arguments of a component type. Declaring them with
/// [`Stack::component`] validates them, records the component and expands
/// its children under it.
pub trait ComponentArgs: Sized {
    /// The handle a declaration returns: the component's URN and its outputs.
    type Component;
    /// The type token, `package:module:Type` (for example `cairn:ai:GpuNodePool`).
    const TYPE: &'static str;

    /// Checks the arguments before anything is declared. The stack gives the
    /// stack's name, config and tags, for checks that depend on them.
    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        let _ = ctx;
        Ok(())
    }

    /// Declares the component's children into `scope`; records its outputs with [`Scope::output`].
    fn expand(self, scope: &Scope) -> Result<Self::Component, DeclareError>;
}

/// The context a component's children are declared into: a [`Stack`] whose
/// declarations belong to the component (and take its options), plus the
/// component's URN, name and outputs.
#[derive(Clone)]
pub struct Scope {
    pub(crate) stack: Stack,
    pub(crate) urn: Urn,
}

impl Scope {
    /// The component's URN.
    pub fn urn(&self) -> &Urn {
        &self.urn
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        self.urn.name()
    }

    /// A child's name: the component's name, a dash and `suffix`
    /// (`gpu` and `node-role` give `gpu-node-role`), so children of two
    /// components of one type never collide.
    pub fn child_name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.name())
    }

    /// Records an output of the component: shown by preview and up, kept in
    /// the component's state record.
    pub fn output<T>(&self, name: &str, value: &Output<T>) {
        self.stack.record_component_output(&self.urn, name, value.node().clone());
    }
}

impl Deref for Scope {
    type Target = Stack;

    /// Resources and nested components are declared into the scope as into a stack.
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

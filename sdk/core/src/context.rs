//! The stack context a program declares its resources into.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use crate::component::{ComponentArgs, InvalidArgs, Scope};
use crate::config::Config;
use crate::output::{Output, OutputNode, capture_outputs};
use crate::reference::{StackOutputs, StackReference};
use crate::resource::{CustomResource, DeclaredResource, Lifecycle, ResourceArgs, ResourceKind, ResourceOptions};
use crate::urn::{InvalidId, ProjectName, ResourceType, StackName, Urn};
use crate::value::Value;

/// A declaration the context refused.
#[derive(Debug, thiserror::Error)]
pub enum DeclareError {
    /// A name or type token is malformed.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// Two resources have the same URN.
    #[error("resource {urn} is declared twice: give each resource of a type a distinct name")]
    Duplicate {
        /// The URN.
        urn: Urn,
    },
    /// `parent` or `depends_on` names a resource that was not declared before.
    #[error(
        "resource {urn}: its {option} names {missing}, which is not declared before it; declare that resource first"
    )]
    UnknownReference {
        /// The resource declaring the option.
        urn: Urn,
        /// `parent` or `depends_on`.
        option: &'static str,
        /// The missing URN.
        missing: Urn,
    },
    /// A component's arguments are invalid.
    #[error("component {name} ({ty}): {invalid}")]
    InvalidComponent {
        /// The component's name.
        name: String,
        /// The component's type token.
        ty: String,
        /// The field, the problem and the fix.
        invalid: InvalidArgs,
    },
    /// An option does not apply where it was given.
    #[error("resource {urn}: {message}")]
    Option {
        /// The resource or component.
        urn: Urn,
        /// What is wrong and the fix.
        message: String,
    },
    /// Another stack's outputs could not be read as asked.
    #[error("stack reference {project}/{stack}: {message}")]
    StackReference {
        /// The referenced project.
        project: String,
        /// The referenced stack.
        stack: String,
        /// What is wrong and the fix.
        message: String,
    },
    /// The arguments could not be serialized.
    #[error("resource {urn}: its arguments could not be serialized: {message}")]
    Args {
        /// The resource.
        urn: Urn,
        /// The serializer's message.
        message: String,
    },
}

/// What a program declared: the desired state of a stack, with inputs still unresolved.
#[derive(Debug, Clone)]
pub struct DeclaredStack {
    /// The stack.
    pub stack: StackName,
    /// The project.
    pub project: ProjectName,
    /// Resources in declaration order, which is a dependency order: a
    /// resource can only reference resources declared before it.
    pub resources: Vec<DeclaredResource>,
    /// Stack outputs, by name.
    pub exports: BTreeMap<String, Arc<OutputNode>>,
}

#[derive(Default)]
struct Declared {
    resources: Vec<DeclaredResource>,
    urns: HashSet<Urn>,
    exports: BTreeMap<String, Arc<OutputNode>>,
}

/// The context a program declares resources into. Cloning it is cheap;
/// [`Stack::component`] declares a typed component ([`ComponentArgs`]) and
/// [`Stack::component_scope`] gives a child context whose declarations belong
/// to a component written by hand.
///
/// ```
/// use cairn_core::{Config, ProjectName, ResourceOptions, Stack, StackName};
/// let ctx = Stack::new(StackName::new("dev").unwrap(), ProjectName::new("demo").unwrap(), Config::default());
/// let pool = ctx.component_scope("cairn:ai:GpuNodePool", "gpu", ResourceOptions::default()).unwrap();
/// assert!(pool.urn().as_str().ends_with("cairn:ai:GpuNodePool::gpu"));
/// assert_eq!(pool.child_name("nodes"), "gpu-nodes");
/// assert_eq!(ctx.finish().resources.len(), 1);
/// ```
#[derive(Clone)]
pub struct Stack {
    stack: StackName,
    project: ProjectName,
    config: Arc<Config>,
    parent: Option<Urn>,
    /// Options a component passes to everything declared inside it.
    inherited: Inherited,
    /// Where stack references are read from.
    references: Option<Arc<dyn StackOutputs>>,
    declared: Arc<Mutex<Declared>>,
}

/// The options of the enclosing components that apply to their children.
#[derive(Clone, Default)]
struct Inherited {
    protect: bool,
    depends_on: Vec<Urn>,
}

impl Stack {
    /// A fresh context for one run of a program.
    pub fn new(stack: StackName, project: ProjectName, config: Config) -> Self {
        Self {
            stack,
            project,
            config: Arc::new(config),
            parent: None,
            inherited: Inherited::default(),
            references: None,
            declared: Arc::default(),
        }
    }

    /// The same context, reading stack references through `outputs`.
    pub fn with_stack_outputs(mut self, outputs: Arc<dyn StackOutputs>) -> Self {
        self.references = Some(outputs);
        self
    }

    /// The outputs of project `project`'s stack of the same name as this one
    /// (`dev` reads `dev`), as its last `up` recorded them.
    pub fn stack_reference(&self, project: &str) -> Result<StackReference, DeclareError> {
        self.stack_reference_to(project, self.stack.as_str())
    }

    /// The outputs of project `project`'s stack `stack`.
    pub fn stack_reference_to(&self, project: &str, stack: &str) -> Result<StackReference, DeclareError> {
        let project = ProjectName::new(project)?;
        let stack = StackName::new(stack)?;
        let fail = |message: String| DeclareError::StackReference {
            project: project.to_string(),
            stack: stack.to_string(),
            message,
        };
        let Some(source) = &self.references else {
            return Err(fail("this context reads no other stacks; run the program through cairn::run".into()));
        };
        match source.outputs(&project, &stack).map_err(|e| fail(e.to_string()))? {
            Some(outputs) => Ok(StackReference::new(project, stack, outputs)),
            None => Err(fail(format!(
                "the stack has not been brought up (no state in {}): run `up --stack {stack}` of project {project}'s \
                 program first",
                source.describe()
            ))),
        }
    }

    /// The stack's name (`dev`, `prod`, ...).
    pub fn stack_name(&self) -> &StackName {
        &self.stack
    }

    /// The project's name.
    pub fn project_name(&self) -> &ProjectName {
        &self.project
    }

    /// The stack's `[config]` values.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The component this context declares into, if any.
    pub fn parent(&self) -> Option<&Urn> {
        self.parent.as_ref()
    }

    /// Declares a resource with default options.
    pub fn resource<A: ResourceArgs>(&self, name: &str, args: A) -> Result<A::Resource, DeclareError> {
        self.resource_with(name, args, ResourceOptions::default())
    }

    /// Declares a resource with options.
    pub fn resource_with<A: ResourceArgs>(
        &self,
        name: &str,
        args: A,
        opts: ResourceOptions,
    ) -> Result<A::Resource, DeclareError> {
        let ty = ResourceType::new(<A::Resource as CustomResource>::TYPE)?;
        let parent = opts.parent.clone().or_else(|| self.parent.clone());
        let urn = Urn::new(&self.stack, &self.project, parent.as_ref(), &ty, name)?;
        let (inputs, outputs) = capture_outputs(|| Value::from_serialize(&args));
        let inputs = inputs.map_err(|e| DeclareError::Args { urn: urn.clone(), message: e.to_string() })?;
        let mut dependencies: BTreeSet<Urn> = outputs.iter().flat_map(|n| n.dependencies().iter().cloned()).collect();
        dependencies.extend(opts.depends_on.iter().cloned());
        dependencies.extend(self.inherited.depends_on.iter().cloned());
        let lifecycle = Lifecycle { compare_live: A::COMPARE_LIVE, ..lifecycle(&urn, &opts)? };
        self.push(DeclaredResource {
            urn: urn.clone(),
            kind: ResourceKind::Custom,
            parent,
            inputs,
            outputs,
            dependencies,
            protect: opts.protect || self.inherited.protect,
            import: opts.import,
            exports: BTreeMap::new(),
            lifecycle,
        })?;
        Ok(A::Resource::from_urn(urn))
    }

    /// Declares the component `name` with default options: validates `args`,
    /// records the component and declares its children under it.
    pub fn component<A: ComponentArgs>(&self, name: &str, args: A) -> Result<A::Component, DeclareError> {
        self.component_with(name, args, ResourceOptions::default())
    }

    /// Declares the component `name` with options. `protect` and
    /// `depends_on` apply to every child; `parent` places the component in
    /// another component; `import` names one resource, so a component refuses it.
    pub fn component_with<A: ComponentArgs>(
        &self,
        name: &str,
        args: A,
        opts: ResourceOptions,
    ) -> Result<A::Component, DeclareError> {
        // Refuse bad arguments before anything of the component is declared.
        ResourceType::new(A::TYPE)?;
        args.validate(self).map_err(|invalid| DeclareError::InvalidComponent {
            name: name.to_owned(),
            ty: A::TYPE.to_owned(),
            invalid,
        })?;
        let scope = self.component_scope(A::TYPE, name, opts)?;
        args.expand(&scope)
    }

    /// Declares a component of type `type_token` and returns the scope its
    /// children are declared into: the low-level form of [`Stack::component`],
    /// for a component written as a function rather than a [`ComponentArgs`] type.
    pub fn component_scope(&self, type_token: &str, name: &str, opts: ResourceOptions) -> Result<Scope, DeclareError> {
        let ty = ResourceType::new(type_token)?;
        let parent = opts.parent.clone().or_else(|| self.parent.clone());
        let urn = Urn::new(&self.stack, &self.project, parent.as_ref(), &ty, name)?;
        if let Some(id) = &opts.import {
            return Err(DeclareError::Option {
                urn,
                message: format!(
                    "`import` (\"{id}\") adopts one cloud resource, and a component is a group of them; \
                     give the option to the child resource instead (or use --import NAME=ID)"
                ),
            });
        }
        let lifecycle = Lifecycle { aliases: lifecycle(&urn, &opts)?.aliases, ..Lifecycle::default() };
        let mut inherited = self.inherited.clone();
        inherited.protect |= opts.protect;
        inherited.depends_on.extend(opts.depends_on.iter().cloned());
        self.push(DeclaredResource {
            urn: urn.clone(),
            kind: ResourceKind::Component,
            parent: parent.clone(),
            inputs: Value::map(),
            outputs: Vec::new(),
            dependencies: inherited.depends_on.iter().cloned().collect(),
            protect: inherited.protect,
            import: None,
            exports: BTreeMap::new(),
            lifecycle,
        })?;
        Ok(Scope { stack: Stack { parent: Some(urn.clone()), inherited, ..self.clone() }, urn })
    }

    /// Records an output of the component `urn` (see [`Scope::output`]).
    pub(crate) fn record_component_output(&self, urn: &Urn, name: &str, node: Arc<OutputNode>) {
        let mut d = self.declared.lock().expect("declarations lock");
        if let Some(r) = d.resources.iter_mut().rev().find(|r| &r.urn == urn) {
            r.exports.insert(name.to_owned(), node);
        }
    }

    /// Publishes a stack output (shown after `up`, readable by other stacks).
    pub fn export<T>(&self, name: &str, value: &Output<T>) {
        self.declared.lock().expect("declarations lock").exports.insert(name.to_owned(), value.node().clone());
    }

    fn push(&self, r: DeclaredResource) -> Result<(), DeclareError> {
        let mut d = self.declared.lock().expect("declarations lock");
        let refs = r.parent.iter().map(|p| ("parent", p)).chain(r.dependencies.iter().map(|u| ("depends_on", u)));
        for (option, missing) in refs {
            if !d.urns.contains(missing) {
                return Err(DeclareError::UnknownReference { urn: r.urn.clone(), option, missing: missing.clone() });
            }
        }
        if !d.urns.insert(r.urn.clone()) {
            return Err(DeclareError::Duplicate { urn: r.urn });
        }
        d.resources.push(r);
        Ok(())
    }

    /// Ends the program run and hands over what it declared.
    pub fn finish(self) -> DeclaredStack {
        let d = std::mem::take(&mut *self.declared.lock().expect("declarations lock"));
        DeclaredStack { stack: self.stack, project: self.project, resources: d.resources, exports: d.exports }
    }
}

/// The lifecycle options of the resource `urn`, checked: each alias is an
/// old name (same type and parent) or a whole URN.
fn lifecycle(urn: &Urn, opts: &ResourceOptions) -> Result<Lifecycle, DeclareError> {
    let paths = |p: &[String]| p.iter().map(|s| crate::PropertyPath::parse(s)).collect::<Vec<_>>();
    let (base, _) = urn.as_str().rsplit_once("::").expect("a URN ends with ::NAME");
    let mut aliases = Vec::new();
    for alias in &opts.aliases {
        let text = if alias.starts_with("urn:") { alias.clone() } else { format!("{base}::{alias}") };
        let parsed = Urn::parse(&text).map_err(|e| DeclareError::Option {
            urn: urn.clone(),
            message: format!("alias `{alias}` is neither a name nor a URN ({e}); give the old name or the old URN"),
        })?;
        if &parsed == urn {
            return Err(DeclareError::Option {
                urn: urn.clone(),
                message: format!("alias `{alias}` is the resource's own URN; list only what it was called before"),
            });
        }
        aliases.push(parsed);
    }
    Ok(Lifecycle {
        ignore_changes: paths(&opts.ignore_changes),
        replace_on_changes: paths(&opts.replace_on_changes),
        delete_before_replace: opts.delete_before_replace,
        retain_on_delete: opts.retain_on_delete,
        aliases,
        custom_timeouts: opts.custom_timeouts,
        provider: opts.provider.clone(),
        compare_live: false,
    })
}

#[cfg(test)]
#[allow(unreachable_pub, dead_code)] // items generated by `resource!` for the tests
mod tests {
    use super::*;
    use crate::{Input, resource};
    use serde::Serialize;

    #[derive(Serialize)]
    struct RoleArgs {
        name: Input<String>,
    }
    resource! {
        /// A role.
        Role, token = "aws:iam:Role", args = RoleArgs, outputs = RoleOutputs { arn: String }
    }
    #[derive(Serialize)]
    struct PolicyArgs {
        role_arn: Input<String>,
    }
    resource! {
        /// A policy.
        Policy, token = "aws:iam:Policy", args = PolicyArgs, outputs = PolicyOutputs { arn: String }
    }

    fn ctx() -> Stack {
        Stack::new(StackName::new("dev").unwrap(), ProjectName::new("p").unwrap(), Config::default())
    }

    #[test]
    fn outputs_in_inputs_become_dependencies() {
        let ctx = ctx();
        let role = ctx.resource("r", RoleArgs { name: "r".into() }).unwrap();
        let policy = ctx.resource("p", PolicyArgs { role_arn: role.arn.clone().into() }).unwrap();
        let declared = ctx.finish();
        assert_eq!(declared.resources[1].urn, policy.urn);
        assert_eq!(declared.resources[1].dependencies, [role.urn].into_iter().collect());
        assert_eq!(declared.resources[1].outputs.len(), 1);
    }

    #[test]
    fn duplicates_and_forward_references_are_refused() {
        let ctx = ctx();
        ctx.resource("r", RoleArgs { name: "r".into() }).unwrap();
        let dup = ctx.resource("r", RoleArgs { name: "x".into() }).unwrap_err();
        assert!(dup.to_string().contains("declared twice"), "{dup}");
        let ghost = Urn::parse("urn:cairn:dev::p::aws:iam:Role::ghost").unwrap();
        let opts = ResourceOptions::builder().depends_on(vec![ghost]).build();
        let err = ctx.resource_with("q", RoleArgs { name: "q".into() }, opts).unwrap_err();
        assert!(err.to_string().contains("not declared before it"), "{err}");
    }

    #[test]
    fn component_children_carry_the_parent_chain() {
        let ctx = ctx();
        let comp = ctx.component_scope("cairn:ai:Pool", "gpu", ResourceOptions::default()).unwrap();
        let role = comp.resource("role", RoleArgs { name: "x".into() }).unwrap();
        assert_eq!(role.urn.type_chain(), "cairn:ai:Pool$aws:iam:Role");
        let d = ctx.finish();
        assert_eq!(d.resources[1].parent.as_ref(), d.resources.first().map(|r| &r.urn));
    }

    #[test]
    fn component_options_reach_every_child_and_outputs_are_recorded() {
        let ctx = ctx();
        let first = ctx.resource("first", RoleArgs { name: "f".into() }).unwrap();
        let opts = ResourceOptions::builder().protect(true).depends_on(vec![first.urn.clone()]).build();
        let outer = ctx.component_scope("acme:x:Outer", "outer", opts).unwrap();
        let inner = outer.component_scope("acme:x:Inner", "inner", ResourceOptions::default()).unwrap();
        let role = inner.resource("role", RoleArgs { name: "r".into() }).unwrap();
        inner.output("arn", &role.arn);
        let d = ctx.finish();
        let by_name = |n: &str| d.resources.iter().find(|r| r.urn.name() == n).unwrap();
        for name in ["outer", "inner", "role"] {
            assert!(by_name(name).protect, "{name} is protected through its component");
            assert!(by_name(name).dependencies.contains(&first.urn), "{name} waits for `first`");
        }
        assert_eq!(by_name("role").parent.as_ref(), Some(&inner.urn().clone()));
        assert_eq!(by_name("inner").exports.keys().collect::<Vec<_>>(), ["arn"]);
        assert!(!by_name("first").protect);
    }

    #[test]
    fn a_component_refuses_import() {
        let opts = ResourceOptions::builder().import("i-123").build();
        let err = ctx().component_scope("acme:x:Outer", "outer", opts).err().unwrap().to_string();
        assert!(err.contains("give the option to the child resource"), "{err}");
    }
}

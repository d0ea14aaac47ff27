//! The stack context a program declares its resources into.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::output::{Output, OutputNode, capture_outputs};
use crate::resource::{CustomResource, DeclaredResource, ResourceArgs, ResourceKind, ResourceOptions};
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
/// [`Stack::component`] gives a child context whose declarations belong to a component.
///
/// ```
/// use cairn_core::{Config, ProjectName, Stack, StackName};
/// let ctx = Stack::new(StackName::new("dev").unwrap(), ProjectName::new("demo").unwrap(), Config::default());
/// let pool = ctx.component("cairn:ai:GpuNodePool", "gpu").unwrap();
/// assert!(pool.parent().unwrap().as_str().ends_with("cairn:ai:GpuNodePool::gpu"));
/// assert_eq!(ctx.finish().resources.len(), 1);
/// ```
#[derive(Clone)]
pub struct Stack {
    stack: StackName,
    project: ProjectName,
    config: Arc<Config>,
    parent: Option<Urn>,
    declared: Arc<Mutex<Declared>>,
}

impl Stack {
    /// A fresh context for one run of a program.
    pub fn new(stack: StackName, project: ProjectName, config: Config) -> Self {
        Self { stack, project, config: Arc::new(config), parent: None, declared: Arc::default() }
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
        self.push(DeclaredResource {
            urn: urn.clone(),
            kind: ResourceKind::Custom,
            parent,
            inputs,
            outputs,
            dependencies,
            protect: opts.protect,
            import: opts.import,
        })?;
        Ok(A::Resource::from_urn(urn))
    }

    /// Declares a component of type `type_token` and returns the context its
    /// children are declared into.
    pub fn component(&self, type_token: &str, name: &str) -> Result<Stack, DeclareError> {
        let ty = ResourceType::new(type_token)?;
        let urn = Urn::new(&self.stack, &self.project, self.parent.as_ref(), &ty, name)?;
        self.push(DeclaredResource {
            urn: urn.clone(),
            kind: ResourceKind::Component,
            parent: self.parent.clone(),
            inputs: Value::map(),
            outputs: Vec::new(),
            dependencies: BTreeSet::new(),
            protect: false,
            import: None,
        })?;
        Ok(Stack { parent: Some(urn), ..self.clone() })
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
        let comp = ctx.component("cairn:ai:Pool", "gpu").unwrap();
        let role = comp.resource("role", RoleArgs { name: "x".into() }).unwrap();
        assert_eq!(role.urn.type_chain(), "cairn:ai:Pool$aws:iam:Role");
        let d = ctx.finish();
        assert_eq!(d.resources[1].parent.as_ref(), d.resources.first().map(|r| &r.urn));
    }
}

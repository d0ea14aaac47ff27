//! Stack references: a program reads another stack's outputs, typed.
//!
//! Stacks split base → platform → runtime: the platform program reads the
//! cluster name the base stack exported. The values are read once, when the
//! program declares the reference, from the other stack's recorded state (the
//! CLI gives the [`Stack`](crate::Stack) a [`StackOutputs`] reading the state
//! store), so they are plain, known values: a program can branch on them. A
//! secret output stays secret: it is only handed out as a secret [`Output`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::DeclareError;
use crate::output::Output;
use crate::urn::{ProjectName, StackName};
use crate::value::Value;

/// Why another stack's outputs could not be read: the state store's own
/// error, kept as it is (its message names the backend and the fix).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct OutputsError(pub Box<dyn std::error::Error + Send + Sync>);

/// Where stack references read other stacks' outputs from.
pub trait StackOutputs: Send + Sync {
    /// The outputs of `project`'s stack `stack`; `Ok(None)` when it has never been brought up.
    fn outputs(
        &self,
        project: &ProjectName,
        stack: &StackName,
    ) -> Result<Option<BTreeMap<String, Value>>, OutputsError>;
    /// Where the states are read from, for messages (a backend URL).
    fn describe(&self) -> String;
}

/// Another stack's outputs, as recorded by its last `up`.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::sync::Arc;
/// use cairn_core::{Config, ProjectName, Stack, StackName, Value};
/// use cairn_core::reference::{OutputsError, StackOutputs};
///
/// struct Fixed;
/// impl StackOutputs for Fixed {
///     fn outputs(&self, _: &ProjectName, _: &StackName) -> Result<Option<BTreeMap<String, Value>>, OutputsError> {
///         Ok(Some([("cluster_name".to_owned(), Value::from("ai-dev"))].into_iter().collect()))
///     }
///     fn describe(&self) -> String { "memory".into() }
/// }
///
/// let ctx = Stack::new(StackName::new("dev").unwrap(), ProjectName::new("runtime").unwrap(), Config::default())
///     .with_stack_outputs(Arc::new(Fixed));
/// let base = ctx.stack_reference("ai-base").unwrap();
/// assert_eq!(base.require::<String>("cluster_name").unwrap(), "ai-dev");
/// let err = base.require::<String>("vpc_id").unwrap_err().to_string();
/// assert!(err.contains("exports no output `vpc_id`") && err.contains("cluster_name"), "{err}");
/// ```
#[derive(Debug, Clone)]
pub struct StackReference {
    project: ProjectName,
    stack: StackName,
    outputs: BTreeMap<String, Value>,
}

impl StackReference {
    pub(crate) fn new(project: ProjectName, stack: StackName, outputs: BTreeMap<String, Value>) -> Self {
        Self { project, stack, outputs }
    }

    /// The referenced project.
    pub fn project(&self) -> &ProjectName {
        &self.project
    }

    /// The referenced stack.
    pub fn stack(&self) -> &StackName {
        &self.stack
    }

    /// The names of the outputs the stack exports.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.outputs.keys().map(String::as_str)
    }

    fn error(&self, message: String) -> DeclareError {
        DeclareError::StackReference { project: self.project.to_string(), stack: self.stack.to_string(), message }
    }

    fn value(&self, name: &str) -> Result<&Value, DeclareError> {
        match self.outputs.get(name) {
            Some(v) if !v.contains_unknown() => Ok(v),
            _ => {
                let known: Vec<&str> = self.names().collect();
                Err(self.error(format!(
                    "exports no output `{name}` (it exports: {}); export it in project {}'s program \
                     (ctx.export(\"{name}\", ...)) and run its `up --stack {}`, or fix the name",
                    if known.is_empty() { "nothing".to_owned() } else { known.join(", ") },
                    self.project,
                    self.stack
                )))
            }
        }
    }

    fn convert<T: DeserializeOwned>(&self, name: &str, v: &Value) -> Result<T, DeclareError> {
        v.strip_secrets()
            .deserialize_into()
            .map_err(|e| self.error(format!("output `{name}` is not a {}: {e}", std::any::type_name::<T>())))
    }

    /// A plain output, typed. A secret output is refused: read it with
    /// [`StackReference::require_secret`], which keeps it secret.
    pub fn require<T: DeserializeOwned>(&self, name: &str) -> Result<T, DeclareError> {
        let v = self.value(name)?;
        if v.contains_secret() {
            return Err(self.error(format!(
                "output `{name}` is secret: read it with require_secret, which keeps it secret in this stack too"
            )));
        }
        self.convert(name, v)
    }

    /// A plain output if the stack exports it.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, DeclareError> {
        if self.outputs.contains_key(name) { self.require(name).map(Some) } else { Ok(None) }
    }

    /// An output as an [`Output`]: secret if it was secret in the other stack.
    pub fn require_output<T: Serialize + DeserializeOwned + 'static>(
        &self,
        name: &str,
    ) -> Result<Output<T>, DeclareError> {
        let v = self.value(name)?;
        let plain: T = self.convert(name, v)?;
        Ok(if v.contains_secret() { Output::secret(plain) } else { Output::new(plain) })
    }

    /// An output as a secret [`Output`], whether or not the other stack marked it secret.
    pub fn require_secret<T: Serialize + DeserializeOwned + 'static>(
        &self,
        name: &str,
    ) -> Result<Output<T>, DeclareError> {
        Ok(self.require_output(name)?.as_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> StackReference {
        let outputs = [
            ("cluster_name".to_owned(), Value::from("ai-dev")),
            ("token".to_owned(), Value::Secret(Box::new("s3cr3t".into()))),
            ("replicas".to_owned(), Value::Int(3)),
        ];
        StackReference::new(
            ProjectName::new("ai-base").unwrap(),
            StackName::new("dev").unwrap(),
            outputs.into_iter().collect(),
        )
    }

    #[test]
    fn secrets_stay_secret_and_types_are_checked() {
        let base = base();
        let err = base.require::<String>("token").unwrap_err().to_string();
        assert!(
            err.starts_with("stack reference ai-base/dev: output `token` is secret") && err.contains("require_secret")
        );
        let token = base.require_secret::<String>("token").unwrap();
        assert!(token.node().evaluate(&NoOutputs).unwrap().contains_secret());
        let plain = base.require_output::<String>("cluster_name").unwrap();
        assert_eq!(plain.node().evaluate(&NoOutputs).unwrap(), Value::from("ai-dev"));
        assert_eq!(base.require::<i64>("replicas").unwrap(), 3);
        assert!(base.require::<String>("replicas").unwrap_err().to_string().contains("output `replicas` is not a"));
        assert_eq!(base.get::<String>("vpc_id").unwrap(), None);
    }

    struct NoOutputs;
    impl crate::OutputSource for NoOutputs {
        fn outputs_of(&self, _: &crate::Urn) -> Option<&Value> {
            None
        }
    }
}

//! Typed outputs and inputs.
//!
//! An [`Output<T>`] is a value that a resource will produce, such as a
//! cluster's endpoint. It records which resources it depends on, may be
//! unknown during preview, may be secret, and can be transformed with
//! [`Output::map`] or combined with [`Output::zip`] and [`Output::all`].
//!
//! An [`Input<T>`] is what a resource argument holds: a plain value, an
//! output of another resource, or (on the provider's side, during preview)
//! unknown. Typed builders accept all three through `Into<Input<T>>`.
//!
//! Outputs are lazy expressions: the engine evaluates them against the
//! outputs recorded so far, which is what lets preview run the whole program
//! without creating anything.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::urn::Urn;
use crate::value::{OUTPUT_KEY, SECRET_KEY, UNKNOWN_KEY, Value};

/// Where outputs are looked up when an [`Output`] is evaluated.
pub trait OutputSource {
    /// The outputs of a resource as a map value, or `None` while unknown
    /// (the resource is yet to be created or replaced).
    fn outputs_of(&self, urn: &Urn) -> Option<&Value>;
}

/// An output that could not be evaluated.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutputError {
    /// The resource's outputs lack the property the output reads.
    #[error("resource {urn} has no output property `{property}`")]
    MissingProperty {
        /// The resource.
        urn: Urn,
        /// The property.
        property: String,
    },
    /// A value did not have the type the program expected.
    #[error("an output of {urns} did not convert: {message}")]
    Convert {
        /// The resources the output depends on.
        urns: String,
        /// What went wrong.
        message: String,
    },
}

type EvalFn = dyn Fn(&dyn OutputSource) -> Result<Value, OutputError> + Send + Sync;

/// The type-erased node behind an [`Output`].
pub struct OutputNode {
    deps: BTreeSet<Urn>,
    eval: Box<EvalFn>,
}

impl OutputNode {
    /// The resources this output depends on.
    pub fn dependencies(&self) -> &BTreeSet<Urn> {
        &self.deps
    }

    /// Evaluates against the outputs known so far.
    pub fn evaluate(&self, source: &dyn OutputSource) -> Result<Value, OutputError> {
        (self.eval)(source)
    }
}

impl fmt::Debug for OutputNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputNode").field("deps", &self.deps).finish_non_exhaustive()
    }
}

/// A typed value that becomes known when the resources it depends on are applied.
///
/// ```
/// use cairn_core::{Output, Value};
/// let name = Output::new("ai-dev".to_owned());
/// let arn = name.map(|n| format!("arn:aws:eks:us-east-1:123456789012:cluster/{n}"));
/// assert!(arn.dependencies().is_empty());
/// ```
pub struct Output<T> {
    node: Arc<OutputNode>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Output<T> {
    fn clone(&self) -> Self {
        Self { node: self.node.clone(), _type: PhantomData }
    }
}

impl<T> fmt::Debug for Output<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Output<{}>({:?})", std::any::type_name::<T>(), self.node)
    }
}

fn urns_of(deps: &BTreeSet<Urn>) -> String {
    deps.iter().map(Urn::as_str).collect::<Vec<_>>().join(", ")
}

impl<T> Output<T> {
    fn from_fn(
        deps: BTreeSet<Urn>,
        eval: impl Fn(&dyn OutputSource) -> Result<Value, OutputError> + Send + Sync + 'static,
    ) -> Self {
        Self { node: Arc::new(OutputNode { deps, eval: Box::new(eval) }), _type: PhantomData }
    }

    /// The output property `property` of the resource `urn`. Resource
    /// handles build their fields with this; programs rarely need it.
    pub fn property(urn: Urn, property: &str) -> Self {
        let property = property.to_owned();
        let deps = [urn.clone()].into_iter().collect();
        Self::from_fn(deps, move |src| match src.outputs_of(&urn) {
            None => Ok(Value::Unknown),
            Some(outs) => match outs.get(&property) {
                Some(v) => Ok(v.clone()),
                None if outs.contains_unknown() => Ok(Value::Unknown),
                None => Err(OutputError::MissingProperty { urn: urn.clone(), property: property.clone() }),
            },
        })
    }

    /// The resources this output depends on.
    pub fn dependencies(&self) -> &BTreeSet<Urn> {
        &self.node.deps
    }

    /// The type-erased node, for the engine.
    pub fn node(&self) -> &Arc<OutputNode> {
        &self.node
    }

    /// The same output, marked secret: hidden in every display and encrypted at rest.
    pub fn as_secret(&self) -> Self {
        let inner = self.node.clone();
        Self::from_fn(self.node.deps.clone(), move |src| Ok(inner.evaluate(src)?.into_secret()))
    }
}

impl<T: Serialize + DeserializeOwned + 'static> Output<T> {
    /// An output that is known from the start.
    pub fn new(value: T) -> Self {
        let v = Value::from_serialize(&value);
        Self::from_fn(BTreeSet::new(), move |_| {
            v.as_ref()
                .map(Clone::clone)
                .map_err(|e| OutputError::Convert { urns: String::new(), message: e.to_string() })
        })
    }

    /// A known value that is secret from the start (e.g. a password from config).
    pub fn secret(value: T) -> Self {
        Self::new(value).as_secret()
    }

    /// Transforms the value once it is known. Unknown stays unknown; secret stays secret.
    ///
    /// ```
    /// use cairn_core::Output;
    /// let port = Output::new(8080_i64).map(|p| format!(":{p}"));
    /// # let _ = port;
    /// ```
    pub fn map<U, F>(&self, f: F) -> Output<U>
    where
        U: Serialize + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let inner = self.node.clone();
        Output::from_fn(self.node.deps.clone(), move |src| {
            let v = inner.evaluate(src)?;
            apply(&inner.deps, &v, |plain| {
                let t: T = plain.deserialize_into().map_err(|e| e.to_string())?;
                Value::from_serialize(&f(t)).map_err(|e| e.to_string())
            })
        })
    }

    /// Combines two outputs into one output of a pair.
    pub fn zip<U: Serialize + DeserializeOwned + 'static>(&self, other: &Output<U>) -> Output<(T, U)> {
        let (a, b) = (self.node.clone(), other.node.clone());
        let deps: BTreeSet<Urn> = a.deps.union(&b.deps).cloned().collect();
        Output::from_fn(deps, move |src| combine(vec![a.evaluate(src)?, b.evaluate(src)?]))
    }

    /// Combines any number of outputs of one type into an output of a list.
    pub fn all(outputs: impl IntoIterator<Item = Output<T>>) -> Output<Vec<T>> {
        let nodes: Vec<Arc<OutputNode>> = outputs.into_iter().map(|o| o.node).collect();
        let deps = nodes.iter().flat_map(|n| n.deps.iter().cloned()).collect();
        Output::from_fn(deps, move |src| combine(nodes.iter().map(|n| n.evaluate(src)).collect::<Result<Vec<_>, _>>()?))
    }
}

/// Applies `f` to a value's plaintext, keeping unknown-ness and secretness.
fn apply(
    deps: &BTreeSet<Urn>,
    v: &Value,
    f: impl FnOnce(&Value) -> Result<Value, String>,
) -> Result<Value, OutputError> {
    if v.contains_unknown() {
        return Ok(Value::Unknown);
    }
    let out = f(&v.strip_secrets()).map_err(|message| OutputError::Convert { urns: urns_of(deps), message })?;
    Ok(if v.contains_secret() { out.into_secret() } else { out })
}

fn combine(values: Vec<Value>) -> Result<Value, OutputError> {
    if values.iter().any(Value::contains_unknown) {
        return Ok(Value::Unknown);
    }
    let secret = values.iter().any(Value::contains_secret);
    let list = Value::List(values.iter().map(Value::strip_secrets).collect());
    Ok(if secret { list.into_secret() } else { list })
}

thread_local! {
    static CAPTURE: RefCell<Option<Vec<Arc<OutputNode>>>> = const { RefCell::new(None) };
}

/// Runs `f` (a serialization of resource arguments) while collecting the
/// outputs it serializes. Each output leaves a placeholder
/// `{"$cairn.output": N}` where N indexes the returned list.
pub fn capture_outputs<R>(f: impl FnOnce() -> R) -> (R, Vec<Arc<OutputNode>>) {
    let previous = CAPTURE.with(|c| c.borrow_mut().replace(Vec::new()));
    let r = f();
    let nodes = CAPTURE.with(|c| std::mem::replace(&mut *c.borrow_mut(), previous)).unwrap_or_default();
    (r, nodes)
}

impl<T> Serialize for Output<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let index = CAPTURE.with(|c| {
            c.borrow_mut().as_mut().map(|nodes| {
                nodes.push(self.node.clone());
                nodes.len() - 1
            })
        });
        match index {
            Some(i) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(OUTPUT_KEY, &i)?;
                m.end()
            }
            None => {
                Err(serde::ser::Error::custom("an Output can only be serialized as part of a resource declaration"))
            }
        }
    }
}

/// Replaces the output placeholders left by [`capture_outputs`] with the
/// outputs' current values (or unknown).
pub fn resolve_placeholders(
    template: &Value,
    nodes: &[Arc<OutputNode>],
    source: &dyn OutputSource,
) -> Result<Value, OutputError> {
    Ok(match template {
        Value::Map(m) => {
            if let (1, Some(Value::Int(i))) = (m.len(), m.get(OUTPUT_KEY)) {
                let node = nodes.get(*i as usize).expect("placeholder indexes a captured output");
                return node.evaluate(source);
            }
            let mut out = std::collections::BTreeMap::new();
            for (k, v) in m {
                out.insert(k.clone(), resolve_placeholders(v, nodes, source)?);
            }
            Value::Map(out)
        }
        Value::List(l) => {
            Value::List(l.iter().map(|v| resolve_placeholders(v, nodes, source)).collect::<Result<_, _>>()?)
        }
        Value::Secret(v) => resolve_placeholders(v, nodes, source)?.into_secret(),
        other => other.clone(),
    })
}

/// A resource argument: a plain value, another resource's output, or (on the
/// provider side during preview) unknown.
///
/// ```
/// use cairn_core::{Input, Output};
/// let a: Input<String> = "literal".into();
/// let b: Input<String> = Output::new("later".to_owned()).into();
/// assert_eq!(a.value(), Some(&"literal".to_owned()));
/// assert!(b.value().is_none());
/// ```
pub enum Input<T> {
    /// A plain value.
    Value(T),
    /// The output of another resource.
    Output(Output<T>),
    /// Not known yet (only seen by providers during preview).
    Unknown,
}

impl<T: Serialize + DeserializeOwned + 'static> Input<T> {
    /// The input as an output, to combine with others ([`Output::zip`],
    /// [`Output::map`]): a plain value is known from the start; unknown stays unknown.
    ///
    /// ```
    /// use cairn_core::Input;
    /// let name: Input<String> = "ml-dev".into();
    /// let arn = name.into_output().map(|n| format!("arn:aws:s3:::{n}"));
    /// assert!(arn.dependencies().is_empty());
    /// ```
    pub fn into_output(self) -> Output<T> {
        match self {
            Input::Value(v) => Output::new(v),
            Input::Output(o) => o,
            Input::Unknown => Output::from_fn(BTreeSet::new(), |_| Ok(Value::Unknown)),
        }
    }
}

impl<T> Input<T> {
    /// The plain value, if this input is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Input::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The plain value, or an error naming the property; providers call this
    /// in create and update, where every input is known.
    pub fn require(&self, property: &str) -> Result<&T, UnknownInput> {
        self.value().ok_or_else(|| UnknownInput { property: property.to_owned() })
    }
}

/// An input that was expected to be known but was not.
#[derive(Debug, thiserror::Error)]
#[error("input `{property}` is not known yet; it can only be used once the resources it comes from are applied")]
pub struct UnknownInput {
    /// The property.
    pub property: String,
}

impl<T: Clone> Clone for Input<T> {
    fn clone(&self) -> Self {
        match self {
            Input::Value(v) => Input::Value(v.clone()),
            Input::Output(o) => Input::Output(o.clone()),
            Input::Unknown => Input::Unknown,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Value(v) => v.fmt(f),
            Input::Output(o) => o.fmt(f),
            Input::Unknown => f.write_str("<unknown>"),
        }
    }
}

impl<T: PartialEq> PartialEq for Input<T> {
    /// Plain values compare by value; outputs and unknowns are never equal.
    fn eq(&self, other: &Self) -> bool {
        matches!((self, other), (Input::Value(a), Input::Value(b)) if a == b)
    }
}

impl<T> From<T> for Input<T> {
    fn from(v: T) -> Self {
        Input::Value(v)
    }
}

impl<T> From<Output<T>> for Input<T> {
    fn from(o: Output<T>) -> Self {
        Input::Output(o)
    }
}

impl<T> From<&Output<T>> for Input<T> {
    fn from(o: &Output<T>) -> Self {
        Input::Output(o.clone())
    }
}

impl From<&str> for Input<String> {
    fn from(s: &str) -> Self {
        Input::Value(s.to_owned())
    }
}

impl From<&String> for Input<String> {
    fn from(s: &String) -> Self {
        Input::Value(s.clone())
    }
}

impl From<Vec<&str>> for Input<Vec<String>> {
    fn from(v: Vec<&str>) -> Self {
        Input::Value(v.into_iter().map(str::to_owned).collect())
    }
}

impl<T: Serialize> Serialize for Input<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Input::Value(v) => v.serialize(s),
            Input::Output(o) => o.serialize(s),
            Input::Unknown => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(UNKNOWN_KEY, &true)?;
                m.end()
            }
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Input<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = serde_json::Value::deserialize(d)?;
        if let serde_json::Value::Object(o) = &j
            && o.len() == 1
        {
            if o.get(UNKNOWN_KEY) == Some(&serde_json::Value::Bool(true)) {
                return Ok(Input::Unknown);
            }
            if let Some(inner) = o.get(SECRET_KEY) {
                return T::deserialize(inner.clone()).map(Input::Value).map_err(serde::de::Error::custom);
            }
        }
        T::deserialize(j).map(Input::Value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProjectName, ResourceType, StackName};
    use std::collections::HashMap;

    struct Src(HashMap<Urn, Value>);
    impl OutputSource for Src {
        fn outputs_of(&self, urn: &Urn) -> Option<&Value> {
            self.0.get(urn)
        }
    }

    fn urn(name: &str) -> Urn {
        Urn::new(
            &StackName::new("dev").unwrap(),
            &ProjectName::new("p").unwrap(),
            None,
            &ResourceType::new("aws:iam:Role").unwrap(),
            name,
        )
        .unwrap()
    }

    #[test]
    fn map_zip_and_all_track_deps_unknowns_and_secrets() {
        let a: Output<String> = Output::property(urn("a"), "arn");
        let b: Output<String> = Output::property(urn("b"), "arn");
        let joined = a.zip(&b).map(|(x, y)| format!("{x}+{y}"));
        assert_eq!(joined.dependencies().len(), 2);

        let mut src = Src(HashMap::new());
        assert_eq!(joined.node().evaluate(&src).unwrap(), Value::Unknown);
        src.0.insert(urn("a"), [("arn", "A")].into_iter().collect());
        assert_eq!(joined.node().evaluate(&src).unwrap(), Value::Unknown, "b is still unknown");
        src.0.insert(urn("b"), [("arn", Value::Secret(Box::new("B".into())))].into_iter().collect());
        assert_eq!(joined.node().evaluate(&src).unwrap(), Value::Secret(Box::new("A+B".into())));

        let all = Output::all([a.clone(), a]).map(|v| v.len() as i64);
        assert_eq!(all.node().evaluate(&src).unwrap(), Value::Int(2));
    }

    #[test]
    fn missing_property_names_resource_and_property() {
        let a: Output<String> = Output::property(urn("a"), "nope");
        let src = Src([(urn("a"), [("arn", "A")].into_iter().collect())].into_iter().collect());
        let err = a.node().evaluate(&src).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("::a"), "{err}");
    }

    #[test]
    fn inputs_capture_outputs_as_placeholders_and_resolve() {
        #[derive(Serialize)]
        struct Args {
            role: Input<String>,
            name: Input<String>,
        }
        let args = Args { role: Output::property(urn("r"), "arn").into(), name: "n".into() };
        let (template, nodes) = capture_outputs(|| Value::from_serialize(&args));
        let template = template.unwrap();
        assert_eq!(nodes.len(), 1);
        let src = Src(HashMap::new());
        let preview = resolve_placeholders(&template, &nodes, &src).unwrap();
        assert_eq!(preview.get("role"), Some(&Value::Unknown));
        assert_eq!(preview.get("name"), Some(&Value::from("n")));

        #[derive(Deserialize)]
        struct Seen {
            role: Input<String>,
        }
        let seen: Seen = preview.deserialize_into().unwrap();
        assert!(matches!(seen.role, Input::Unknown));
    }

    #[test]
    fn serializing_an_output_outside_a_declaration_fails() {
        let o = Output::new(1_i64);
        assert!(serde_json::to_string(&o).is_err());
    }
}

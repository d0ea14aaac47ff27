//! The conversions between [`Value`] and a type's [`TypedArgs`] (defined in
//! `cairn-core`, beside the schema, so the crate holding the argument structs
//! implements it) that every type's calls use.

use cairn_core::rust_code::{Form, RustWriter};
use cairn_core::value::DEFAULTS_KEY;
use cairn_core::{Declaration, Input, ProviderError, ReadRequest, Value};
use serde::Serialize;

pub use cairn_core::schema::TypedArgs;

/// The typed arguments of recorded or checked inputs.
pub fn args<A: TypedArgs>(inputs: &Value) -> Result<A, ProviderError> {
    inputs.deserialize_into().map_err(|e| {
        ProviderError::invalid(format!("the inputs of a `{}` do not match its arguments: {e}", A::SCHEMA.token))
    })
}

/// The typed arguments of recorded inputs, if they parse (they may be partial, e.g. on import).
pub fn recorded<A: TypedArgs>(inputs: &Value) -> Option<A> {
    inputs.deserialize_into().ok()
}

/// An input that must be known by now (create and update only see known inputs).
pub fn known<'a, T>(input: &'a Input<T>, property: &str) -> Result<&'a T, ProviderError> {
    input.require(property).map_err(|e| ProviderError::invalid(e.to_string()))
}

/// The physical name, which Check always fills.
pub fn physical_name(input: &Option<Input<String>>, property: &str) -> Result<String, ProviderError> {
    match input {
        Some(name) => known(name, property).cloned(),
        None => Err(ProviderError::invalid(format!(
            "`{property}` is missing: Check fills it, so these inputs were never checked"
        ))),
    }
}

/// The provider ID to read: the recorded one, or (after a create interrupted
/// before its ID was recorded) the name property of the inputs.
pub fn read_id(req: &ReadRequest, property: &str) -> Result<String, ProviderError> {
    match &req.id {
        Some(id) => Ok(id.clone()),
        None => input_str(&req.inputs, property),
    }
}

/// A string property of raw inputs.
pub fn input_str(inputs: &Value, property: &str) -> Result<String, ProviderError> {
    inputs.get(property).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
        ProviderError::invalid(format!("cannot find the resource: it has no ID and its inputs have no `{property}`"))
    })
}

/// Live arguments as Read reports them: shaped like the declared inputs,
/// keeping the recorded list of defaulted properties.
pub fn live_inputs<A: TypedArgs>(live: &A, recorded: &Value) -> Result<Value, ProviderError> {
    let mut inputs = to_value(live)?;
    if let (Value::Map(map), Some(defaults)) = (&mut inputs, recorded.get(DEFAULTS_KEY)) {
        map.insert(DEFAULTS_KEY.to_owned(), defaults.clone());
    }
    Ok(inputs)
}

/// The Rust code declaring a resource of type `A` with `inputs`: the
/// builder expression of its arguments, with the properties Cairn filled
/// (`$cairn.defaults`, such as a generated name) left out, so the code
/// declares what a program would write.
pub fn declaration<A: TypedArgs>(inputs: &Value) -> Result<Declaration, ProviderError> {
    let defaults = cairn_core::schema::defaults_of(inputs);
    let written = match inputs {
        Value::Map(map) => Value::Map(
            map.iter()
                .filter(|(k, _)| !k.starts_with("$cairn.") && !defaults.contains(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    if written.contains_secret() {
        return Err(ProviderError::invalid(format!(
            "a `{}` holding a secret cannot be written as code without showing it: declare it by hand, reading the \
             secret from the stack's config (`config set --secret`), then adopt it with `up --import NAME=ID`",
            A::SCHEMA.token
        )));
    }
    let typed: A = args(&written)?;
    let mut w = RustWriter::new();
    typed.write_rust(&mut w, Form::Exact);
    let code = w.finish();
    Ok(Declaration { uses: code.uses, expression: code.expression, inputs: to_value(&typed)? })
}

/// Serializes outputs (or anything else) to a [`Value`].
pub fn to_value<T: Serialize>(v: &T) -> Result<Value, ProviderError> {
    Value::from_serialize(v).map_err(|e| ProviderError::internal(format!("serializing a value failed: {e}")))
}

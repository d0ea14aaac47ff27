//! Conversions between wire messages and the core model.

use std::collections::BTreeMap;

use cairn_core::{CheckFailure, DiffKind, ErrorCode, PropertyDiff, PropertyPath, ProviderError, Value};
use tonic::{Code, Status};

use crate::v1;

/// Core value → wire value.
pub fn value_to_wire(v: &Value) -> v1::Value {
    use v1::value::Kind;
    let kind = match v {
        Value::Null => Kind::NullValue(true),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Int(i) => Kind::IntValue(*i),
        Value::Float(f) => Kind::FloatValue(*f),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::List(l) => Kind::ListValue(v1::ListValue { items: l.iter().map(value_to_wire).collect() }),
        Value::Map(m) => {
            Kind::MapValue(v1::MapValue { fields: m.iter().map(|(k, v)| (k.clone(), value_to_wire(v))).collect() })
        }
        Value::Unknown => Kind::Unknown(true),
        Value::Secret(inner) => Kind::Secret(Box::new(value_to_wire(inner))),
    };
    v1::Value { kind: Some(kind) }
}

/// Wire value → core value. A missing value reads as null.
pub fn value_from_wire(v: Option<&v1::Value>) -> Value {
    use v1::value::Kind;
    let Some(kind) = v.and_then(|v| v.kind.as_ref()) else { return Value::Null };
    match kind {
        Kind::NullValue(_) => Value::Null,
        Kind::BoolValue(b) => Value::Bool(*b),
        Kind::IntValue(i) => Value::Int(*i),
        Kind::FloatValue(f) => Value::Float(*f),
        Kind::StringValue(s) => Value::String(s.clone()),
        Kind::ListValue(l) => Value::List(l.items.iter().map(|i| value_from_wire(Some(i))).collect()),
        Kind::MapValue(m) => {
            Value::Map(m.fields.iter().map(|(k, v)| (k.clone(), value_from_wire(Some(v)))).collect::<BTreeMap<_, _>>())
        }
        Kind::Unknown(_) => Value::Unknown,
        Kind::Secret(inner) => Value::Secret(Box::new(value_from_wire(Some(inner)))),
    }
}

/// Shorthand: a core value as an optional wire field.
pub fn wire(v: &Value) -> Option<v1::Value> {
    Some(value_to_wire(v))
}

/// Check failures → wire.
pub fn failures_to_wire(f: &[CheckFailure]) -> Vec<v1::CheckFailure> {
    f.iter().map(|f| v1::CheckFailure { property: f.property.to_string(), reason: f.reason.clone() }).collect()
}

/// Check failures ← wire.
pub fn failures_from_wire(f: &[v1::CheckFailure]) -> Vec<CheckFailure> {
    f.iter().map(|f| CheckFailure { property: PropertyPath::parse(&f.property), reason: f.reason.clone() }).collect()
}

/// Property diffs → wire.
pub fn diffs_to_wire(d: &[PropertyDiff]) -> Vec<v1::PropertyDiff> {
    d.iter()
        .map(|d| v1::PropertyDiff {
            path: d.path.to_string(),
            kind: match d.kind {
                DiffKind::Add => v1::DiffKind::Add,
                DiffKind::Update => v1::DiffKind::Update,
                DiffKind::Delete => v1::DiffKind::Delete,
            } as i32,
            detail: d.detail.clone(),
        })
        .collect()
}

/// Property diffs ← wire.
pub fn diffs_from_wire(d: &[v1::PropertyDiff]) -> Vec<PropertyDiff> {
    d.iter()
        .map(|d| PropertyDiff {
            path: PropertyPath::parse(&d.path),
            kind: match v1::DiffKind::try_from(d.kind) {
                Ok(v1::DiffKind::Add) => DiffKind::Add,
                Ok(v1::DiffKind::Delete) => DiffKind::Delete,
                _ => DiffKind::Update,
            },
            detail: d.detail.clone(),
        })
        .collect()
}

/// A provider error as a gRPC status.
pub fn error_to_status(e: ProviderError) -> Status {
    let code = match e.code {
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::PermissionDenied => Code::PermissionDenied,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::DeadlineExceeded => Code::DeadlineExceeded,
        ErrorCode::Internal => Code::Internal,
    };
    Status::new(code, e.message)
}

/// A gRPC status as a provider error.
pub fn status_to_error(s: &Status) -> ProviderError {
    let code = match s.code() {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => ErrorCode::InvalidArgument,
        Code::NotFound => ErrorCode::NotFound,
        Code::PermissionDenied | Code::Unauthenticated => ErrorCode::PermissionDenied,
        Code::Unavailable => ErrorCode::Unavailable,
        Code::DeadlineExceeded => ErrorCode::DeadlineExceeded,
        _ => ErrorCode::Internal,
    };
    ProviderError::new(code, s.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_with_markers() {
        let v: Value = [
            ("s", Value::from("x")),
            ("i", Value::Int(-3)),
            ("f", Value::Float(1.5)),
            ("u", Value::Unknown),
            ("secret", Value::Secret(Box::new(Value::List(vec![Value::Bool(true), Value::Null])))),
        ]
        .into_iter()
        .collect();
        assert_eq!(value_from_wire(Some(&value_to_wire(&v))), v);
    }

    #[test]
    fn errors_keep_their_code_across_the_wire() {
        for code in [ErrorCode::InvalidArgument, ErrorCode::NotFound, ErrorCode::DeadlineExceeded, ErrorCode::Internal]
        {
            let e = ProviderError::new(code, "boom");
            assert_eq!(status_to_error(&error_to_status(e.clone())), e);
        }
    }

    #[test]
    fn diffs_round_trip() {
        let d =
            vec![PropertyDiff { path: PropertyPath::parse("taints[0].effect"), kind: DiffKind::Delete, detail: None }];
        assert_eq!(diffs_from_wire(&diffs_to_wire(&d)), d);
    }
}

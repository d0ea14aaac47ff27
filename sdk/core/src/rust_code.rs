//! Writing typed values back as the Rust code that makes them: what `import`
//! prints for an adopted resource (its builder call with the live values).
//!
//! Each type says how it is written through [`RustLiteral`]:
//! `#[derive(TypedArgs)]` writes an argument struct as its builder chain,
//! `#[derive(RustLiteral)]` a nested struct (its builder, or a struct
//! literal) or an enum, and this module the standard types.
//!
//! ```
//! use std::collections::BTreeMap;
//! use cairn_core::rust_code::{Form, RustLiteral, RustWriter};
//!
//! let tags = BTreeMap::from([("team".to_owned(), "ml".to_owned())]);
//! let mut w = RustWriter::new();
//! tags.write_rust(&mut w, Form::Exact);
//! assert_eq!(w.finish().expression, r#"BTreeMap::from([(String::from("team"), String::from("ml"))])"#);
//!
//! let mut w = RustWriter::new();
//! tags.write_rust(&mut w, Form::Items);
//! assert_eq!(w.finish().expression, r#"[("team", "ml")]"#);
//! ```

use std::collections::BTreeMap;

pub use cairn_derive::RustLiteral;

use crate::output::Input;

/// The form an expression takes, from what receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Exactly the type, where the type is known (a struct field, a plain
    /// setter, an enum variant).
    Exact,
    /// Anything that converts into the type (a builder setter with
    /// `setter(into)`): `"x"` for a `String`.
    Into,
    /// A collection as items for an `impl IntoIterator<Item = impl Into<..>>`
    /// parameter (the builders' transform setters): `["a", "b"]` for a
    /// `Vec<String>`, `[("k", "v")]` for a map; other types as `Into`.
    Items,
}

/// Rust code being written: the expression and the paths it names.
#[derive(Debug, Default)]
pub struct RustWriter {
    out: String,
    /// Short name → the full path it was imported as.
    uses: BTreeMap<String, String>,
}

/// Written code: the `use` paths it needs and the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustExpression {
    /// Full paths to import (`cairn_aws::eks::NodeGroupArgs`), sorted.
    pub uses: Vec<String>,
    /// The expression.
    pub expression: String,
}

impl RustWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends code as it is.
    pub fn push(&mut self, code: &str) {
        self.out.push_str(code);
    }

    /// Writes the type `name` of the module `module` (e.g. from
    /// `module_path!()`), importing it; when another type already took the
    /// short name, its module's last segment qualifies it instead.
    pub fn path(&mut self, module: &str, name: &str) {
        let full = format!("{module}::{name}");
        match self.uses.get(name) {
            Some(taken) if *taken != full => {
                let last = module.rsplit("::").next().unwrap_or(module);
                self.uses.insert(last.to_owned(), module.to_owned());
                self.out.push_str(&format!("{last}::{name}"));
            }
            _ => {
                self.uses.insert(name.to_owned(), full);
                self.out.push_str(name);
            }
        }
    }

    /// Writes a string literal (escaped as Rust needs).
    pub fn string(&mut self, s: &str) {
        self.out.push_str(&format!("{s:?}"));
    }

    /// Writes `Name::builder()`, one `.setter(value)` per call `calls`
    /// makes (each on its own line unless together they are short), and `.build()`.
    pub fn builder(&mut self, module: &str, name: &str, calls: impl FnOnce(&mut BuilderCalls)) {
        self.path(module, name);
        self.out.push_str("::builder()");
        let writer = RustWriter { uses: std::mem::take(&mut self.uses), out: String::new() };
        let mut chain = BuilderCalls { writer, calls: Vec::new() };
        calls(&mut chain);
        self.uses = chain.writer.uses;
        let length: usize = chain.calls.iter().map(String::len).sum();
        if length <= 80 && chain.calls.iter().all(|c| !c.contains('\n')) {
            chain.calls.iter().for_each(|c| self.out.push_str(c));
            self.out.push_str(".build()");
        } else {
            for call in chain.calls {
                self.out.push_str("\n    ");
                self.out.push_str(&call.replace('\n', "\n    "));
            }
            self.out.push_str("\n    .build()");
        }
    }

    /// The code written.
    pub fn finish(self) -> RustExpression {
        let mut uses: Vec<String> = self.uses.into_values().collect();
        uses.sort();
        RustExpression { uses, expression: self.out }
    }

    /// The expression `value` writes in `form`, alone (what two values are compared by).
    fn text_of<T: RustLiteral + ?Sized>(value: &T, form: Form) -> String {
        let mut w = RustWriter::new();
        value.write_rust(&mut w, form);
        w.out
    }
}

/// The setter calls of one builder chain (see [`RustWriter::builder`]).
pub struct BuilderCalls {
    writer: RustWriter,
    calls: Vec<String>,
}

impl BuilderCalls {
    /// `.setter(value)`, `value` written in `form`.
    pub fn call<T: RustLiteral + ?Sized>(&mut self, setter: &str, value: &T, form: Form) {
        self.writer.out.clear();
        value.write_rust(&mut self.writer, form);
        let arg = std::mem::take(&mut self.writer.out);
        self.calls.push(format!(".{setter}({arg})"));
    }

    /// `.setter(value)` unless `value` is written as `default` is: the
    /// builder fills defaults itself.
    pub fn call_unless_default<T: RustLiteral + ?Sized>(&mut self, setter: &str, value: &T, default: &T, form: Form) {
        if RustWriter::text_of(value, Form::Exact) != RustWriter::text_of(default, Form::Exact) {
            self.call(setter, value, form);
        }
    }
}

/// A value that can write itself as Rust code making it.
pub trait RustLiteral {
    /// Writes an expression making this value, in `form`.
    fn write_rust(&self, w: &mut RustWriter, form: Form);

    /// Writes this type's name (what an empty collection is typed with).
    fn write_type(w: &mut RustWriter);

    /// Writes this value where an `Input` of it is expected through
    /// `impl Into<Input<Self>>`. Its exact form, but for strings (`"x"`).
    fn write_into_input(&self, w: &mut RustWriter) {
        self.write_rust(w, Form::Exact);
    }

    /// Writes `items` where an `Input<Vec<Self>>` is expected through `impl
    /// Into<..>`: `vec![..]` of exact items, but for strings (`vec!["a"]`).
    fn write_vec_into_input(items: &[Self], w: &mut RustWriter)
    where
        Self: Sized,
    {
        write_list(w, "vec![", items, Form::Exact);
    }
}

/// `open`, the items in `form` separated by commas, `]`.
fn write_list<T: RustLiteral>(w: &mut RustWriter, open: &str, items: &[T], form: Form) {
    w.push(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        item.write_rust(w, form);
    }
    w.push("]");
}

impl RustLiteral for String {
    fn write_rust(&self, w: &mut RustWriter, form: Form) {
        match form {
            Form::Exact => {
                w.push("String::from(");
                w.string(self);
                w.push(")");
            }
            Form::Into | Form::Items => w.string(self),
        }
    }

    fn write_type(w: &mut RustWriter) {
        w.push("String");
    }

    fn write_into_input(&self, w: &mut RustWriter) {
        w.string(self);
    }

    fn write_vec_into_input(items: &[Self], w: &mut RustWriter) {
        write_list(w, "vec![", items, Form::Into);
    }
}

impl RustLiteral for bool {
    fn write_rust(&self, w: &mut RustWriter, _: Form) {
        w.push(if *self { "true" } else { "false" });
    }

    fn write_type(w: &mut RustWriter) {
        w.push("bool");
    }
}

macro_rules! integers {
    ($($t:ty),+) => {$(
        impl RustLiteral for $t {
            fn write_rust(&self, w: &mut RustWriter, form: Form) {
                // Through `impl Into<T>` an unsuffixed literal would be an i32.
                match form {
                    Form::Exact => w.push(&self.to_string()),
                    Form::Into | Form::Items => w.push(&format!("{self}_{}", stringify!($t))),
                }
            }

            fn write_type(w: &mut RustWriter) {
                w.push(stringify!($t));
            }
        }
    )+};
}
integers!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

impl RustLiteral for f64 {
    fn write_rust(&self, w: &mut RustWriter, _: Form) {
        if self.is_finite() {
            // `{:?}` keeps a decimal point (`1.0`), so the literal stays a float.
            w.push(&format!("{self:?}_f64"));
        } else if self.is_nan() {
            w.push("f64::NAN");
        } else if *self > 0.0 {
            w.push("f64::INFINITY");
        } else {
            w.push("f64::NEG_INFINITY");
        }
    }

    fn write_type(w: &mut RustWriter) {
        w.push("f64");
    }
}

/// A JSON document (a Kubernetes object) as the `serde_json::json!` call that builds it.
impl RustLiteral for serde_json::Value {
    fn write_rust(&self, w: &mut RustWriter, _: Form) {
        w.push("serde_json::json!(");
        w.push(&self.to_string());
        w.push(")");
    }

    fn write_type(w: &mut RustWriter) {
        w.push("serde_json::Value");
    }
}

impl<T: RustLiteral> RustLiteral for Option<T> {
    fn write_rust(&self, w: &mut RustWriter, _: Form) {
        match self {
            Some(v) => {
                w.push("Some(");
                v.write_rust(w, Form::Exact);
                w.push(")");
            }
            None => w.push("None"),
        }
    }

    fn write_type(w: &mut RustWriter) {
        w.push("Option<");
        T::write_type(w);
        w.push(">");
    }
}

/// A resolved input writes its value. An output reference cannot be
/// written as a value: it is written as `todo!()` naming why, which still
/// compiles, and fails only where it runs.
impl<T: RustLiteral> RustLiteral for Input<T> {
    fn write_rust(&self, w: &mut RustWriter, form: Form) {
        let Input::Value(v) = self else {
            w.push("todo!(\"an output of another resource: refer to it here\")");
            return;
        };
        match form {
            Form::Exact => {
                v.write_into_input(w);
                w.push(".into()");
            }
            Form::Into | Form::Items => v.write_into_input(w),
        }
    }

    fn write_type(w: &mut RustWriter) {
        w.path("cairn", "Input");
        w.push("<");
        T::write_type(w);
        w.push(">");
    }
}

impl<T: RustLiteral> RustLiteral for Vec<T> {
    fn write_rust(&self, w: &mut RustWriter, form: Form) {
        match form {
            Form::Items if self.is_empty() => {
                w.push("Vec::<");
                T::write_type(w);
                w.push(">::new()");
            }
            Form::Items => write_list(w, "[", self, Form::Items),
            Form::Exact | Form::Into if self.is_empty() => w.push("Vec::new()"),
            Form::Exact | Form::Into => write_list(w, "vec![", self, Form::Exact),
        }
    }

    fn write_into_input(&self, w: &mut RustWriter) {
        T::write_vec_into_input(self, w);
    }

    fn write_type(w: &mut RustWriter) {
        w.push("Vec<");
        T::write_type(w);
        w.push(">");
    }
}

impl<K: RustLiteral, V: RustLiteral> RustLiteral for BTreeMap<K, V> {
    fn write_rust(&self, w: &mut RustWriter, form: Form) {
        let items = form == Form::Items;
        if self.is_empty() {
            if items {
                w.path("std::collections", "BTreeMap");
                w.push("::<");
                K::write_type(w);
                w.push(", ");
                V::write_type(w);
                w.push(">::new()");
            } else {
                w.path("std::collections", "BTreeMap");
                w.push("::new()");
            }
            return;
        }
        let inner = if items { Form::Items } else { Form::Exact };
        if !items {
            w.path("std::collections", "BTreeMap");
            w.push("::from(");
        }
        w.push("[");
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push("(");
            k.write_rust(w, inner);
            w.push(", ");
            v.write_rust(w, inner);
            w.push(")");
        }
        w.push("]");
        if !items {
            w.push(")");
        }
    }

    fn write_type(w: &mut RustWriter) {
        w.path("std::collections", "BTreeMap");
        w.push("<");
        K::write_type(w);
        w.push(", ");
        V::write_type(w);
        w.push(">");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<T: RustLiteral>(v: &T, form: Form) -> String {
        RustWriter::text_of(v, form)
    }

    #[test]
    fn strings_and_numbers_take_the_form_their_receiver_needs() {
        assert_eq!(text(&"a\"b".to_owned(), Form::Exact), r#"String::from("a\"b")"#);
        assert_eq!(text(&"a".to_owned(), Form::Into), r#""a""#);
        assert_eq!(text(&5_i64, Form::Exact), "5");
        assert_eq!(text(&5_i64, Form::Into), "5_i64");
        assert_eq!(text(&1.0_f64, Form::Exact), "1.0_f64");
        assert_eq!(text(&Some(3_i32), Form::Into), "Some(3)");
    }

    #[test]
    fn inputs_write_their_value() {
        let name: Input<String> = "ng".into();
        assert_eq!(text(&name, Form::Into), r#""ng""#);
        assert_eq!(text(&name, Form::Exact), r#""ng".into()"#);
        let ids: Input<Vec<String>> = vec!["a"].into();
        assert_eq!(text(&ids, Form::Into), r#"vec!["a"]"#);
        assert_eq!(text(&Some(name), Form::Exact), r#"Some("ng".into())"#);
    }

    #[test]
    fn collections_as_items_or_exact() {
        let v = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(text(&v, Form::Items), r#"["a", "b"]"#);
        assert_eq!(text(&v, Form::Exact), r#"vec![String::from("a"), String::from("b")]"#);
        assert_eq!(text(&Vec::<String>::new(), Form::Items), "Vec::<String>::new()");
        let m: BTreeMap<String, Vec<String>> = BTreeMap::from([("k".to_owned(), v)]);
        assert_eq!(text(&m, Form::Items), r#"[("k", ["a", "b"])]"#);
        assert_eq!(text(&BTreeMap::<String, String>::new(), Form::Items), "BTreeMap::<String, String>::new()");
    }

    #[test]
    fn a_short_name_taken_by_another_path_is_qualified() {
        let mut w = RustWriter::new();
        w.path("cairn_aws::ecr", "LifecycleRule");
        w.push(" ");
        w.path("cairn_aws::s3", "LifecycleRule");
        let code = w.finish();
        assert_eq!(code.expression, "LifecycleRule s3::LifecycleRule");
        assert_eq!(code.uses, vec!["cairn_aws::ecr::LifecycleRule", "cairn_aws::s3"]);
    }
}

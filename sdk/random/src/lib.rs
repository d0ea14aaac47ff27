//! Cairn's `random` resource types: values generated once by the
//! `cairn-provider-random` plugin, recorded in the state and stable across
//! runs until an argument (or a `keepers` entry) changes, which makes a new one.
//!
//! | Type token              | Arguments         | Handle       |
//! |-------------------------|-------------------|--------------|
//! | `random:index:Password` | [`PasswordArgs`]  | [`Password`] |
//! | `random:index:Id`       | [`IdArgs`]        | [`Id`]       |
//!
//! A password's `result` is a secret output: sealed in the state, masked in
//! plans, and still a secret in every value made from it.
//!
//! ```
//! use cairn_random::PasswordArgs;
//! let db = PasswordArgs::builder().length(40).special(false).keepers([("rotated", "2026-12")]).build();
//! assert!(db.validate().is_empty());
//! ```

use std::collections::BTreeMap;

use cairn_core::schema::{ResourceSchema, TypedArgs};
use cairn_core::{CheckFailure, PropertyPath};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

/// The special characters a password draws from unless `override_special` is set.
pub const DEFAULT_SPECIAL: &str = "!#$%&*()-_=+[]{}<>:?";
/// The longest password generated.
pub const MAX_PASSWORD_LENGTH: u32 = 1024;
/// The most random bytes an ID holds.
pub const MAX_ID_BYTES: u32 = 256;

fn yes() -> bool {
    true
}

fn default_length() -> u32 {
    32
}

fn default_byte_length() -> u32 {
    8
}

fn failure(property: &str, reason: String) -> CheckFailure {
    CheckFailure { property: PropertyPath::parse(property), reason }
}

fn keepers<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

/// The arguments of a random password. Every change (a `keepers` entry
/// included) generates a new password, created before the old is forgotten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A random password (provider ID: an opaque handle). Generated once with the operating system's \
           randomness and kept in the state as a secret; any change, `keepers` included, generates a new one.",
    outputs = PasswordOutputs
)]
pub struct PasswordArgs {
    /// Characters in the password (1 to 1024, default 32).
    #[builder(default = default_length())]
    #[serde(default = "default_length")]
    #[args(replace)]
    pub length: u32,
    /// Use upper-case letters (default true).
    #[builder(default = true)]
    #[serde(default = "yes")]
    #[args(replace)]
    pub upper: bool,
    /// Use lower-case letters (default true).
    #[builder(default = true)]
    #[serde(default = "yes")]
    #[args(replace)]
    pub lower: bool,
    /// Use digits (default true).
    #[builder(default = true)]
    #[serde(default = "yes")]
    #[args(replace)]
    pub numeric: bool,
    /// Use special characters (default true).
    #[builder(default = true)]
    #[serde(default = "yes")]
    #[args(replace)]
    pub special: bool,
    /// At least this many upper-case letters (default 0).
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub min_upper: u32,
    /// At least this many lower-case letters (default 0).
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub min_lower: u32,
    /// At least this many digits (default 0).
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub min_numeric: u32,
    /// At least this many special characters (default 0).
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub min_special: u32,
    /// The special characters to draw from instead of `!#$%&*()-_=+[]{}<>:?` (for systems that refuse some).
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub override_special: Option<String>,
    /// Values that generate a new password when they change (a rotation date, the ID of what it protects).
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        keepers(pairs)
    }))]
    #[serde(default)]
    #[args(replace)]
    pub keepers: BTreeMap<String, String>,
}

impl PasswordArgs {
    /// The special characters this password draws from.
    pub fn special_chars(&self) -> &str {
        self.override_special.as_deref().unwrap_or(DEFAULT_SPECIAL)
    }

    /// Refusals: a length out of range, minimums that do not fit or need a
    /// class that is turned off, no class at all, or an empty special set.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut out = Vec::new();
        if !(1..=MAX_PASSWORD_LENGTH).contains(&self.length) {
            out.push(failure(
                "length",
                format!("length ({}) must be between 1 and {MAX_PASSWORD_LENGTH}", self.length),
            ));
        }
        let classes = [
            ("upper", self.upper, "min_upper", self.min_upper),
            ("lower", self.lower, "min_lower", self.min_lower),
            ("numeric", self.numeric, "min_numeric", self.min_numeric),
            ("special", self.special, "min_special", self.min_special),
        ];
        if !classes.iter().any(|c| c.1) {
            out.push(failure("upper", "every character class is off: set upper, lower, numeric or special".into()));
        }
        for (class, on, min_name, min) in classes {
            if min > 0 && !on {
                out.push(failure(min_name, format!("{min_name} is {min} but {class} is false: set {class} = true")));
            }
        }
        let required: u32 = classes.iter().map(|c| c.3).sum();
        if required > self.length {
            out.push(failure(
                "length",
                format!("the minimums add up to {required}, more than length ({}): raise length", self.length),
            ));
        }
        if self.special && self.special_chars().is_empty() {
            out.push(failure("override_special", "override_special is empty: set special = false instead".into()));
        }
        out
    }
}

cairn_core::resource! {
    /// A random password, as declared: its URN and typed outputs.
    Password, token = "random:index:Password", args = PasswordArgs, outputs = PasswordOutputs {
        /// The password: a secret output, sealed in the state and masked in plans.
        result: String,
    }
}

/// The arguments of a random ID: random bytes shown in hex and base64url,
/// for unique names (a bucket suffix, a deployment ID).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "Random bytes (provider ID: their base64url form), generated once and kept; any change, `keepers` \
           included, generates new ones. Import one by its base64url form.",
    outputs = IdOutputs
)]
pub struct IdArgs {
    /// Random bytes (1 to 256, default 8).
    #[builder(default = default_byte_length())]
    #[serde(default = "default_byte_length")]
    #[args(replace)]
    pub byte_length: u32,
    /// Text put before the `hex` and `b64_url` forms.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub prefix: Option<String>,
    /// Values that generate a new ID when they change.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        keepers(pairs)
    }))]
    #[serde(default)]
    #[args(replace)]
    pub keepers: BTreeMap<String, String>,
}

impl IdArgs {
    /// Refusals: a byte length out of range.
    pub fn validate(&self) -> Vec<CheckFailure> {
        if (1..=MAX_ID_BYTES).contains(&self.byte_length) {
            Vec::new()
        } else {
            vec![failure(
                "byte_length",
                format!("byte_length ({}) must be between 1 and {MAX_ID_BYTES}", self.byte_length),
            )]
        }
    }
}

cairn_core::resource! {
    /// A random ID, as declared: its URN and typed outputs.
    Id, token = "random:index:Id", args = IdArgs, outputs = IdOutputs {
        /// The bytes in lower-case hex, after the prefix.
        hex: String,
        /// The bytes in unpadded base64url, after the prefix (also the provider ID, without it).
        b64_url: String,
    }
}

/// Every type's schema, for the reference page.
pub const SCHEMAS: &[&ResourceSchema] = &[PasswordArgs::SCHEMA, IdArgs::SCHEMA];

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(f: &[CheckFailure]) -> Vec<String> {
        f.iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    #[test]
    fn a_password_that_cannot_be_made_is_refused_naming_the_property() {
        let too_many = PasswordArgs::builder().length(4).min_numeric(3).min_special(2).build();
        assert_eq!(
            reasons(&too_many.validate()),
            ["length: the minimums add up to 5, more than length (4): raise length"]
        );
        let off = PasswordArgs::builder().special(false).min_special(1).build();
        assert_eq!(
            reasons(&off.validate()),
            ["min_special: min_special is 1 but special is false: set special = true"]
        );
        let none = PasswordArgs::builder().upper(false).lower(false).numeric(false).special(false).build();
        assert!(reasons(&none.validate())[0].contains("every character class is off"));
        assert!(PasswordArgs::builder().length(0).build().validate()[0].reason.contains("between 1 and 1024"));
        assert!(IdArgs::builder().byte_length(0).build().validate()[0].reason.contains("between 1 and 256"));
    }
}

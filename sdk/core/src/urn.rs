//! Typed identifiers: stack and project names, resource type tokens and URNs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An identifier that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {reason}")]
pub struct InvalidId {
    /// What kind of identifier it was (stack name, type token, URN, ...).
    pub what: &'static str,
    /// The rejected text.
    pub value: String,
    /// Why it was rejected, phrased as the fix.
    pub reason: &'static str,
}

fn is_simple_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `package:module:Type`: three non-empty parts of ASCII letters, digits,
/// `-` or `_`, the package lowercase. One pass over the bytes, without
/// allocating: every URN read from a state file checks its whole type chain.
fn is_type_token(s: &str) -> bool {
    let (mut parts, mut part_len) = (1, 0);
    for &c in s.as_bytes() {
        if c == b':' {
            if part_len == 0 {
                return false;
            }
            parts += 1;
            part_len = 0;
        } else if (c.is_ascii_alphanumeric() || c == b'-' || c == b'_') && !(parts == 1 && c.is_ascii_uppercase()) {
            part_len += 1;
        } else {
            return false;
        }
    }
    parts == 3 && part_len > 0
}

macro_rules! simple_name {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps a name: ASCII letters, digits, `-`, `_` and `.`, at most 100 characters.
            pub fn new(s: impl Into<String>) -> Result<Self, InvalidId> {
                let s = s.into();
                if is_simple_name(&s) {
                    Ok(Self(s))
                } else {
                    Err(InvalidId {
                        what: $what,
                        value: s,
                        reason: "use 1 to 100 ASCII letters, digits, `-`, `_` or `.`",
                    })
                }
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::new(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

simple_name!(
    /// The name of a stack, one per environment: `dev`, `staging`, `prod`.
    StackName,
    "stack name"
);
simple_name!(
    /// The name of a project (one Cairn program).
    ProjectName,
    "project name"
);

/// A resource type token `package:module:Type`, e.g. `aws:eks:NodeGroup`.
///
/// The package part names the provider plugin that manages the type
/// (`aws` → `cairn-provider-aws`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceType(String);

impl ResourceType {
    /// Validates a type token.
    ///
    /// ```
    /// let t = cairn_core::ResourceType::new("aws:eks:NodeGroup").unwrap();
    /// assert_eq!(t.package(), "aws");
    /// assert!(cairn_core::ResourceType::new("NodeGroup").is_err());
    /// ```
    pub fn new(s: impl Into<String>) -> Result<Self, InvalidId> {
        let s = s.into();
        if is_type_token(&s) {
            Ok(Self(s))
        } else {
            Err(InvalidId {
                what: "resource type token",
                value: s,
                reason: "write it as `package:module:Type` with a lowercase package, e.g. `aws:eks:NodeGroup`",
            })
        }
    }

    /// The package, which names the provider: `aws` in `aws:eks:NodeGroup`.
    pub fn package(&self) -> &str {
        self.0.split(':').next().unwrap_or_default()
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resource's unique name within all stacks:
/// `urn:cairn:STACK::PROJECT::PARENT_TYPES$TYPE::NAME`.
///
/// The type part holds the chain of parent component types, so two components
/// may each have a child called `role` only if they have distinct names in the
/// stack (names are unique per type chain).
///
/// ```
/// use cairn_core::{ResourceType, StackName, ProjectName, Urn};
/// let urn = Urn::new(
///     &StackName::new("dev").unwrap(),
///     &ProjectName::new("ai").unwrap(),
///     None,
///     &ResourceType::new("aws:s3:Bucket").unwrap(),
///     "artifacts",
/// ).unwrap();
/// assert_eq!(urn.as_str(), "urn:cairn:dev::ai::aws:s3:Bucket::artifacts");
/// assert_eq!(urn.name(), "artifacts");
/// assert_eq!(urn.resource_type().as_str(), "aws:s3:Bucket");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Urn(String);

impl Urn {
    /// Builds the URN of a resource named `name` of type `ty`, child of `parent` if any.
    pub fn new(
        stack: &StackName,
        project: &ProjectName,
        parent: Option<&Urn>,
        ty: &ResourceType,
        name: &str,
    ) -> Result<Self, InvalidId> {
        if name.is_empty() || name.contains("::") || name.contains('$') || name.len() > 200 {
            return Err(InvalidId {
                what: "resource name",
                value: name.to_owned(),
                reason: "use 1 to 200 characters without `::` or `$`",
            });
        }
        let chain = match parent {
            Some(p) => format!("{}${}", p.type_chain(), ty),
            None => ty.to_string(),
        };
        Ok(Self(format!("urn:cairn:{stack}::{project}::{chain}::{name}")))
    }

    /// Parses a URN as written in state files and on the command line.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        Self::parse_owned(s.to_owned())
    }

    /// [`Urn::parse`] keeping `s` itself: reading a state file parses one URN
    /// per resource and dependency, so it neither copies nor allocates.
    fn parse_owned(s: String) -> Result<Self, InvalidId> {
        match Self::fault(&s) {
            None => Ok(Self(s)),
            Some(reason) => Err(InvalidId { what: "URN", value: s, reason }),
        }
    }

    /// What is wrong with `s` as a URN, phrased as the fix.
    fn fault(s: &str) -> Option<&'static str> {
        let Some(rest) = s.strip_prefix("urn:cairn:") else {
            return Some("a URN starts with `urn:cairn:`");
        };
        let mut parts = rest.splitn(4, "::");
        let (Some(stack), Some(project), Some(types), Some(name)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Some("write it as `urn:cairn:STACK::PROJECT::TYPE::NAME`");
        };
        if !is_simple_name(stack) {
            Some("the stack part is not a valid stack name")
        } else if !is_simple_name(project) {
            Some("the project part is not a valid project name")
        } else if !types.split('$').all(is_type_token) {
            Some("the type part is not a valid type token chain")
        } else if name.is_empty() {
            Some("the name part is empty")
        } else {
            None
        }
    }

    fn part(&self, i: usize) -> &str {
        self.0["urn:cairn:".len()..].splitn(4, "::").nth(i).unwrap_or_default()
    }

    /// The stack part.
    pub fn stack(&self) -> &str {
        self.part(0)
    }

    /// The project part.
    pub fn project(&self) -> &str {
        self.part(1)
    }

    /// The chain of types, parents first, joined by `$`.
    pub fn type_chain(&self) -> &str {
        self.part(2)
    }

    /// The resource's own type (the last of the chain).
    pub fn resource_type(&self) -> ResourceType {
        ResourceType(self.type_chain().rsplit('$').next().unwrap_or_default().to_owned())
    }

    /// The resource's logical name.
    pub fn name(&self) -> &str {
        self.part(3)
    }

    /// The URN as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Urn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Urn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Urn::parse_owned(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> (StackName, ProjectName) {
        (StackName::new("prod").unwrap(), ProjectName::new("ai").unwrap())
    }

    #[test]
    fn child_urn_carries_parent_type_chain() {
        let (s, p) = names();
        let comp = ResourceType::new("cairn:ai:GpuNodePool").unwrap();
        let parent = Urn::new(&s, &p, None, &comp, "gpu").unwrap();
        let ng = ResourceType::new("aws:eks:NodeGroup").unwrap();
        let child = Urn::new(&s, &p, Some(&parent), &ng, "gpu-nodes").unwrap();
        assert_eq!(child.as_str(), "urn:cairn:prod::ai::cairn:ai:GpuNodePool$aws:eks:NodeGroup::gpu-nodes");
        assert_eq!(child.resource_type(), ng);
        assert_eq!(child.stack(), "prod");
        assert_eq!(child.project(), "ai");
        assert_eq!(Urn::parse(child.as_str()).unwrap(), child);
    }

    #[test]
    fn bad_ids_are_refused_with_the_fix() {
        assert!(StackName::new("pr od").is_err());
        assert!(ResourceType::new("AWS:s3:Bucket").is_err());
        assert!(Urn::parse("urn:other:x").unwrap_err().reason.contains("urn:cairn:"));
        let (s, p) = names();
        let t = ResourceType::new("aws:s3:Bucket").unwrap();
        assert!(Urn::new(&s, &p, None, &t, "a::b").is_err());
    }

    #[test]
    fn type_tokens_have_three_parts_and_a_lowercase_package() {
        for good in ["aws:s3:Bucket", "cairn:ai:GpuNodePool", "my-pkg:mod_1:T", "a:b:c"] {
            assert!(is_type_token(good), "{good}");
        }
        for bad in ["", "aws", "aws:s3", "aws:s3:Bucket:x", ":s3:Bucket", "aws::Bucket", "aws:s3:", "Aws:s3:Bucket"] {
            assert!(!is_type_token(bad), "{bad}");
        }
        for bad in ["aws:s3:Buck et", "aws:s3:Bucket$", "aws:s\u{e9}:Bucket", "aws:s3.x:Bucket"] {
            assert!(!is_type_token(bad), "{bad}");
        }
    }

    #[test]
    fn urn_parse_names_the_faulty_part() {
        let fault = |s: &str| Urn::parse(s).unwrap_err().reason;
        assert!(fault("urn:cairn:prod::ai::aws:s3:Bucket").contains("STACK::PROJECT::TYPE::NAME"));
        assert!(fault("urn:cairn:pr od::ai::aws:s3:Bucket::b").contains("stack part"));
        assert!(fault("urn:cairn:prod::a i::aws:s3:Bucket::b").contains("project part"));
        assert!(fault("urn:cairn:prod::ai::aws:s3:Bucket$bad::b").contains("type part"));
        assert!(fault("urn:cairn:prod::ai::aws:s3:Bucket::").contains("name part"));
        let urn: Urn = serde_json::from_str("\"urn:cairn:prod::ai::aws:s3:Bucket::b::c\"").unwrap();
        assert_eq!(urn.name(), "b::c");
        assert!(serde_json::from_str::<Urn>("\"urn:cairn:prod::ai::Bucket::b\"").is_err());
    }
}

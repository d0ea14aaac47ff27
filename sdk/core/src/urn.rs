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
        let parts: Vec<&str> = s.split(':').collect();
        let ok = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            && parts[0].chars().all(|c| !c.is_ascii_uppercase());
        if ok {
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
        let bad = |reason| InvalidId { what: "URN", value: s.to_owned(), reason };
        let rest = s.strip_prefix("urn:cairn:").ok_or_else(|| bad("a URN starts with `urn:cairn:`"))?;
        let parts: Vec<&str> = rest.splitn(4, "::").collect();
        if parts.len() != 4 {
            return Err(bad("write it as `urn:cairn:STACK::PROJECT::TYPE::NAME`"));
        }
        StackName::new(parts[0]).map_err(|_| bad("the stack part is not a valid stack name"))?;
        ProjectName::new(parts[1]).map_err(|_| bad("the project part is not a valid project name"))?;
        for t in parts[2].split('$') {
            ResourceType::new(t).map_err(|_| bad("the type part is not a valid type token chain"))?;
        }
        if parts[3].is_empty() {
            return Err(bad("the name part is empty"));
        }
        Ok(Self(s.to_owned()))
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
        let s = String::deserialize(d)?;
        Urn::parse(&s).map_err(serde::de::Error::custom)
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
}

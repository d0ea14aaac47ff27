//! The shape every custom resource shares: `apiVersion` and `kind` fixed by its type,
//! `metadata`, `spec`.

/// Declares a namespaced custom resource: the struct (`metadata` and `spec`), k8s-openapi's
/// `Resource` and `Metadata` traits, and serde that writes `apiVersion`/`kind` from the type
/// and refuses another kind or an unknown field when reading.
macro_rules! custom_resource {
    (
        $(#[$doc:meta])*
        $name:ident($spec:ty), group = $group:literal, version = $version:literal, plural = $plural:literal
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            /// Name, namespace, labels and annotations.
            pub metadata: $crate::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            /// The desired state.
            pub spec: $spec,
        }

        impl k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = concat!($group, "/", $version);
            const GROUP: &'static str = $group;
            const KIND: &'static str = stringify!($name);
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }

        impl k8s_openapi::Metadata for $name {
            type Ty = $crate::apimachinery::pkg::apis::meta::v1::ObjectMeta;
            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut st = s.serialize_struct(stringify!($name), 4)?;
                st.serialize_field("apiVersion", <Self as k8s_openapi::Resource>::API_VERSION)?;
                st.serialize_field("kind", <Self as k8s_openapi::Resource>::KIND)?;
                st.serialize_field("metadata", &self.metadata)?;
                st.serialize_field("spec", &self.spec)?;
                st.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Raw {
                    #[serde(rename = "apiVersion")]
                    api_version: String,
                    kind: String,
                    metadata: $crate::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                    spec: $spec,
                }
                let raw = Raw::deserialize(d)?;
                let (api_version, kind) =
                    (<Self as k8s_openapi::Resource>::API_VERSION, <Self as k8s_openapi::Resource>::KIND);
                if raw.api_version != api_version || raw.kind != kind {
                    return Err(serde::de::Error::custom(format!(
                        "expected apiVersion {api_version} and kind {kind}, found {} {}",
                        raw.api_version, raw.kind
                    )));
                }
                Ok(Self { metadata: raw.metadata, spec: raw.spec })
            }
        }
    };
}

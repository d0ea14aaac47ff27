//! `#[derive(TypedArgs)]`: a resource type's schema, written once, on its
//! argument struct. Re-exported as `cairn_core::schema::TypedArgs` (the
//! derive and the trait share the name, as serde's do); see there for the
//! attributes.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Error, Expr, Fields, LitStr, Path, Type};

/// Derives `cairn_core::schema::TypedArgs` (see its documentation), and
/// `cairn_core::rust_code::RustLiteral`, which writes the arguments as their
/// builder chain.
#[proc_macro_derive(TypedArgs, attributes(args))]
pub fn derive_typed_args(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand(&input).unwrap_or_else(Error::into_compile_error).into()
}

/// Derives `cairn_core::rust_code::RustLiteral` for a type nested in
/// resource arguments: a struct is written as its typed builder chain
/// (`Name::builder().field(..).build()`, reading each field's `#[builder]`
/// attribute), or as a struct literal with `#[rust_literal(fields)]`; an
/// enum as its variant.
#[proc_macro_derive(RustLiteral, attributes(rust_literal))]
pub fn derive_rust_literal(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    rust_literal::expand(&input).unwrap_or_else(Error::into_compile_error).into()
}

mod rust_literal;

/// The container attribute: `#[args(doc = "...", outputs = T, auto_name(...), ...)]`.
#[derive(Default)]
struct TypeAttrs {
    doc: Option<LitStr>,
    outputs: Option<Path>,
    auto_name: Option<Tokens>,
    validate: Option<Path>,
    no_validate: bool,
    warnings: Option<Path>,
    raw_failures: Option<Path>,
    deletes_first: Option<Path>,
}

/// A field attribute: `#[args(replace)]`, `#[args(secret)]`.
#[derive(Default)]
struct FieldAttrs {
    replace: bool,
    secret: bool,
}

fn type_attrs(attrs: &[Attribute]) -> syn::Result<TypeAttrs> {
    let mut out = TypeAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("args")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            match key.as_str() {
                "doc" => out.doc = Some(meta.value()?.parse()?),
                "outputs" => out.outputs = Some(meta.value()?.parse()?),
                "validate" => out.validate = Some(meta.value()?.parse()?),
                "no_validate" => out.no_validate = true,
                "warnings" => out.warnings = Some(meta.value()?.parse()?),
                "raw_failures" => out.raw_failures = Some(meta.value()?.parse()?),
                "deletes_first" => out.deletes_first = Some(meta.value()?.parse()?),
                "auto_name" => {
                    let (mut property, mut max_len, mut lowercase, mut reserved) = (None, None, false, None);
                    meta.parse_nested_meta(|inner| {
                        let key = inner.path.get_ident().map(ToString::to_string).unwrap_or_default();
                        match key.as_str() {
                            "property" => property = Some(inner.value()?.parse::<LitStr>()?),
                            "max_len" => max_len = Some(inner.value()?.parse::<Expr>()?),
                            "lowercase" => lowercase = true,
                            "reserved_prefix" => reserved = Some(inner.value()?.parse::<Expr>()?),
                            _ => return Err(inner.error("expected property, max_len, lowercase or reserved_prefix")),
                        }
                        Ok(())
                    })?;
                    let property = property.ok_or_else(|| meta.error("auto_name needs `property = \"...\"`"))?;
                    let max_len = max_len.ok_or_else(|| meta.error("auto_name needs `max_len = ...`"))?;
                    let reserved = match reserved {
                        Some(r) => quote!(Some(#r)),
                        None => quote!(None),
                    };
                    out.auto_name = Some(quote! {
                        Some(cairn_core::schema::AutoName {
                            property: #property,
                            max_len: #max_len,
                            lowercase: #lowercase,
                            reserved_prefix: #reserved,
                        })
                    });
                }
                _ => {
                    return Err(meta.error(
                        "expected doc, outputs, auto_name, validate, no_validate, warnings, raw_failures or \
                         deletes_first",
                    ));
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn field_attrs(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("args")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("replace") {
                out.replace = true;
            } else if meta.path.is_ident("secret") {
                out.secret = true;
            } else {
                return Err(meta.error("expected `replace` or `secret`"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The doc comment, its lines joined into one paragraph.
fn doc_of(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join(" ").trim().to_owned()
}

/// What serde says about a field: its name in the inputs, and whether it may be omitted.
fn serde_of(attrs: &[Attribute], name: &mut String, defaulted: &mut bool) -> syn::Result<()> {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                *name = meta.value()?.parse::<LitStr>()?.value();
            } else if meta.path.is_ident("default") {
                *defaulted = true;
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<LitStr>()?;
                }
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|inner| {
                    if inner.input.peek(syn::Token![=]) {
                        inner.value()?.parse::<Expr>()?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// True when the typed builder fills the field when a program leaves it
/// out: `default` among the top-level words of `#[builder(...)]`.
fn builder_default(attrs: &[Attribute]) -> bool {
    attrs.iter().filter(|a| a.path().is_ident("builder")).any(|a| match &a.meta {
        syn::Meta::List(list) => {
            list.tokens.clone().into_iter().any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "default"))
        }
        _ => false,
    })
}

fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let attrs = type_attrs(&input.attrs)?;
    let Data::Struct(data) = &input.data else {
        return Err(Error::new(input.span(), "#[derive(TypedArgs)] describes an argument struct"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(Error::new(input.span(), "#[derive(TypedArgs)] needs named fields (they are the properties)"));
    };
    let doc = attrs.doc.clone().ok_or_else(|| {
        Error::new(input.ident.span(), "#[args(doc = \"...\")] is missing: one paragraph for the reference page")
    })?;
    let outputs = attrs.outputs.clone().ok_or_else(|| {
        Error::new(input.ident.span(), "#[args(outputs = TypeOutputs)] is missing: the struct `resource!` made")
    })?;
    let mut properties = Vec::new();
    for field in &fields.named {
        let ident = field.ident.as_ref().expect("named field");
        let mut property = ident.to_string();
        let mut defaulted = false;
        serde_of(&field.attrs, &mut property, &mut defaulted)?;
        let fa = field_attrs(&field.attrs)?;
        let doc = doc_of(&field.attrs);
        if doc.is_empty() {
            return Err(Error::new(ident.span(), "a property needs a doc comment: it is its reference entry"));
        }
        // Required: the program must give it (serde and the builder both need it).
        let required = !defaulted && !is_option(&field.ty) && !builder_default(&field.attrs);
        let change = if fa.replace { quote!(Replace) } else { quote!(InPlace) };
        let secret = fa.secret;
        properties.push(quote! {
            cairn_core::schema::PropertySchema {
                name: #property,
                change: cairn_core::schema::Change::#change,
                required: #required,
                secret: #secret,
                doc: #doc,
            }
        });
    }
    let auto_name = attrs.auto_name.clone().unwrap_or_else(|| quote!(None));
    let failures = match (&attrs.validate, attrs.no_validate) {
        (_, true) => quote!(Vec::new()),
        (Some(path), false) => quote!(#path(self)),
        (None, false) => quote!(self.validate()),
    };
    let warnings = attrs.warnings.as_ref().map(|path| {
        quote! {
            fn warnings(&self) -> Vec<cairn_core::CheckFailure> {
                #path(self)
            }
        }
    });
    let raw_failures = attrs.raw_failures.as_ref().map(|path| {
        quote! {
            fn raw_failures(inputs: &cairn_core::Value) -> Vec<cairn_core::CheckFailure> {
                #path(inputs)
            }
        }
    });
    let deletes_first = attrs.deletes_first.as_ref().map(|path| {
        quote! {
            fn replace_deletes_first(olds: &cairn_core::Value, news: &cairn_core::Value) -> bool {
                #path(olds, news)
            }
        }
    });
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let literal = rust_literal::builder_impl(input, fields)?;
    Ok(quote! {
        #literal

        impl #impl_generics cairn_core::schema::TypedArgs for #name #ty_generics #where_clause {
            const SCHEMA: &'static cairn_core::schema::ResourceSchema = &cairn_core::schema::ResourceSchema {
                token: <<Self as cairn_core::ResourceArgs>::Resource as cairn_core::CustomResource>::TYPE,
                doc: #doc,
                properties: &[#(#properties),*],
                auto_name: #auto_name,
                outputs: #outputs::FIELDS,
            };

            fn failures(&self) -> Vec<cairn_core::CheckFailure> {
                #failures
            }

            #warnings
            #raw_failures
            #deletes_first
        }
    })
}

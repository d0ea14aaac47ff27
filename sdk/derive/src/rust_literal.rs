//! `RustLiteral`: writing a value back as the Rust code that makes it. An
//! argument struct (and, by default, a nested struct) is written as its typed
//! builder chain, so each field's setter form comes from its `#[builder]`
//! attribute: `setter(into)`, `setter(strip_option)`, a transform setter
//! (which takes items), `default` (left out when the value is the default)
//! and `setter(skip)` (never written).

use proc_macro2::{Delimiter, TokenStream as Tokens, TokenTree};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Error, Fields, FieldsNamed};

/// What a field's `#[builder(...)]` says about its setter.
#[derive(Default)]
struct Setter {
    /// `default` (`Default::default()`) or `default = EXPR`.
    default: Option<Tokens>,
    into: bool,
    strip_option: bool,
    transform: bool,
    skip: bool,
}

/// Splits a token list at its top-level commas.
fn split_commas(tokens: Tokens) -> Vec<Vec<TokenTree>> {
    let mut parts = vec![Vec::new()];
    for t in tokens {
        match &t {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().expect("one part").push(t),
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}

fn setter_of(attrs: &[Attribute]) -> Setter {
    let mut out = Setter::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("builder")) {
        let syn::Meta::List(list) = &attr.meta else { continue };
        for part in split_commas(list.tokens.clone()) {
            match part.as_slice() {
                [TokenTree::Ident(i)] if i == "default" => {
                    out.default = Some(quote!(::core::default::Default::default()))
                }
                [TokenTree::Ident(i), TokenTree::Punct(eq), rest @ ..] if i == "default" && eq.as_char() == '=' => {
                    out.default = Some(rest.iter().cloned().collect());
                }
                [TokenTree::Ident(i), TokenTree::Group(g)]
                    if i == "setter" && g.delimiter() == Delimiter::Parenthesis =>
                {
                    for inner in split_commas(g.stream()) {
                        let words: Vec<String> = inner
                            .iter()
                            .filter_map(|t| match t {
                                TokenTree::Ident(i) => Some(i.to_string()),
                                _ => None,
                            })
                            .collect();
                        match words.first().map(String::as_str) {
                            Some("into") => out.into = true,
                            Some("strip_option") => out.strip_option = true,
                            Some("skip") => out.skip = true,
                            Some("transform") => out.transform = true,
                            Some("fn") if words.get(1).is_some_and(|w| w == "transform") => out.transform = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The builder calls writing `self`'s named fields.
fn builder_calls(fields: &FieldsNamed) -> Tokens {
    let calls = fields.named.iter().filter_map(|field| {
        let ident = field.ident.as_ref().expect("named field");
        let ty = &field.ty;
        let setter = setter_of(&field.attrs);
        if setter.skip {
            return None;
        }
        let name = ident.to_string();
        let form = if setter.transform {
            quote!(cairn_core::rust_code::Form::Items)
        } else if setter.into {
            quote!(cairn_core::rust_code::Form::Into)
        } else {
            quote!(cairn_core::rust_code::Form::Exact)
        };
        Some(if setter.strip_option {
            quote! {
                if let ::core::option::Option::Some(value) = &self.#ident {
                    calls.call(#name, value, #form);
                }
            }
        } else if let Some(default) = &setter.default {
            quote! {
                let default: #ty = #default;
                calls.call_unless_default(#name, &self.#ident, &default, #form);
            }
        } else {
            quote!(calls.call(#name, &self.#ident, #form);)
        })
    });
    quote!(#(#calls)*)
}

/// `RustLiteral` for a struct written as its builder chain.
pub(crate) fn builder_impl(input: &DeriveInput, fields: &FieldsNamed) -> syn::Result<Tokens> {
    let calls = builder_calls(fields);
    let name_str = input.ident.to_string();
    Ok(literal_impl(
        input,
        quote! {
            w.builder(::core::module_path!(), #name_str, |calls| { #calls });
        },
    ))
}

/// The impl around the body writing `self` to `w`.
fn literal_impl(input: &DeriveInput, body: Tokens) -> Tokens {
    let name = &input.ident;
    let name_str = name.to_string();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics cairn_core::rust_code::RustLiteral for #name #ty_generics #where_clause {
            #[allow(unused_variables)]
            fn write_rust(&self, w: &mut cairn_core::rust_code::RustWriter, form: cairn_core::rust_code::Form) {
                #body
            }

            fn write_type(w: &mut cairn_core::rust_code::RustWriter) {
                w.path(::core::module_path!(), #name_str);
            }
        }
    }
}

fn wants_fields(attrs: &[Attribute]) -> syn::Result<bool> {
    let mut fields = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("rust_literal")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("fields") {
                fields = true;
                Ok(())
            } else {
                Err(meta.error("expected `fields` (write a struct literal instead of the builder)"))
            }
        })?;
    }
    Ok(fields)
}

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let name_str = input.ident.to_string();
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) if !wants_fields(&input.attrs)? => builder_impl(input, fields),
            Fields::Named(fields) => {
                let parts = fields.named.iter().enumerate().map(|(i, f)| {
                    let ident = f.ident.as_ref().expect("named field");
                    let label = format!("{}{ident}: ", if i == 0 { " " } else { ", " });
                    quote! {
                        w.push(#label);
                        cairn_core::rust_code::RustLiteral::write_rust(&self.#ident, w, cairn_core::rust_code::Form::Exact);
                    }
                });
                Ok(literal_impl(
                    input,
                    quote! {
                        w.path(::core::module_path!(), #name_str);
                        w.push(" {");
                        #(#parts)*
                        w.push(" }");
                    },
                ))
            }
            _ => Err(Error::new(input.span(), "#[derive(RustLiteral)] writes structs with named fields, and enums")),
        },
        Data::Enum(data) => {
            let arms = data.variants.iter().map(|v| {
                let variant = &v.ident;
                let text = variant.to_string();
                match &v.fields {
                    Fields::Unit => quote! {
                        Self::#variant => {
                            w.path(::core::module_path!(), #name_str);
                            w.push(::core::concat!("::", #text));
                        }
                    },
                    Fields::Unnamed(f) => {
                        let bindings: Vec<_> =
                            (0..f.unnamed.len()).map(|i| quote::format_ident!("field{i}")).collect();
                        let writes = bindings.iter().enumerate().map(|(i, b)| {
                            let sep = if i == 0 { "" } else { ", " };
                            quote! {
                                w.push(#sep);
                                cairn_core::rust_code::RustLiteral::write_rust(#b, w, cairn_core::rust_code::Form::Exact);
                            }
                        });
                        quote! {
                            Self::#variant(#(#bindings),*) => {
                                w.path(::core::module_path!(), #name_str);
                                w.push(::core::concat!("::", #text, "("));
                                #(#writes)*
                                w.push(")");
                            }
                        }
                    }
                    Fields::Named(f) => {
                        let idents: Vec<_> = f.named.iter().map(|f| f.ident.clone().expect("named")).collect();
                        let writes = idents.iter().enumerate().map(|(i, ident)| {
                            let label = format!("{}{ident}: ", if i == 0 { " " } else { ", " });
                            quote! {
                                w.push(#label);
                                cairn_core::rust_code::RustLiteral::write_rust(#ident, w, cairn_core::rust_code::Form::Exact);
                            }
                        });
                        quote! {
                            Self::#variant { #(#idents),* } => {
                                w.path(::core::module_path!(), #name_str);
                                w.push(::core::concat!("::", #text, " {"));
                                #(#writes)*
                                w.push(" }");
                            }
                        }
                    }
                }
            });
            Ok(literal_impl(
                input,
                quote! {
                    match self { #(#arms)* }
                },
            ))
        }
        Data::Union(_) => Err(Error::new(input.span(), "#[derive(RustLiteral)] writes structs and enums")),
    }
}

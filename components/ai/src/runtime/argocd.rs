//! The Argo CD `Application` of a stack: Argo CD keeps the cluster equal to the stack's
//! directory of the GitOps repository.

use cairn_core::{ComponentArgs, DeclareError, InvalidArgs, Scope, Stack, Urn};
use cairn_gitops::Manifest;
use cairn_k8s::argocd::{
    Application, ApplicationDestination, ApplicationSource, ApplicationSpec, AutomatedSync, DirectorySource, SyncPolicy,
};
use typed_builder::TypedBuilder;

use super::{declare, labels, meta};

/// Arguments of [`ArgoApplication`].
#[derive(Debug, Clone, TypedBuilder)]
pub struct ArgoApplicationArgs {
    /// The GitOps repository's URL, as Argo CD reaches it.
    #[builder(setter(into))]
    pub repo_url: String,
    /// The stack's directory in it, as `[provider.gitops] path` says (`{stack}` stands for the
    /// stack's name); the provider's default, `clusters/{stack}`, unless set.
    #[builder(default = cairn_gitops::DEFAULT_PATH.to_owned(), setter(into))]
    pub path: String,
    /// The branch followed.
    #[builder(default = "main".to_owned(), setter(into))]
    pub target_revision: String,
    /// The Argo CD project.
    #[builder(default = "default".to_owned(), setter(into))]
    pub project: String,
    /// Argo CD's namespace, where the `Application` lives.
    #[builder(default = "argocd".to_owned(), setter(into))]
    pub namespace: String,
    /// The cluster's API server as Argo CD knows it (its own cluster by default).
    #[builder(default = "https://kubernetes.default.svc".to_owned(), setter(into))]
    pub destination_server: String,
    /// Sync every change of the repository without a person pressing "sync".
    #[builder(default = true)]
    pub automated: bool,
    /// With `automated`: delete from the cluster what left the repository.
    #[builder(default = true)]
    pub prune: bool,
    /// With `automated`: undo changes made in the cluster by hand.
    #[builder(default = true)]
    pub self_heal: bool,
}

/// A stack's Argo CD application.
#[derive(Debug, Clone)]
pub struct ArgoApplication {
    /// The component's URN.
    pub urn: Urn,
    /// The `Application`.
    pub application: Manifest,
}

impl ArgoApplicationArgs {
    /// The `Application` named `name`.
    pub fn application(
        &self,
        name: &str,
        stack: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Application {
        Application {
            metadata: meta(name, &self.namespace, labels),
            spec: ApplicationSpec {
                project: self.project.clone(),
                source: Some(ApplicationSource {
                    repo_url: self.repo_url.clone(),
                    path: Some(cairn_gitops::stack_dir(&self.path, stack)),
                    target_revision: Some(self.target_revision.clone()),
                    directory: Some(DirectorySource { recurse: Some(true) }),
                }),
                destination: ApplicationDestination { server: Some(self.destination_server.clone()), namespace: None },
                sync_policy: Some(SyncPolicy {
                    automated: self
                        .automated
                        .then_some(AutomatedSync { prune: Some(self.prune), self_heal: Some(self.self_heal) }),
                    sync_options: vec!["CreateNamespace=true".into(), "ServerSideApply=true".into()],
                }),
                revision_history_limit: Some(10),
            },
        }
    }
}

impl ComponentArgs for ArgoApplicationArgs {
    type Component = ArgoApplication;
    const TYPE: &'static str = "cairn:ai:ArgoApplication";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        if self.repo_url.is_empty() {
            return Err(InvalidArgs::new(
                "repo_url",
                "is empty",
                "give the GitOps repository's URL as Argo CD reaches it",
            ));
        }
        if !cairn_gitops::inside_repo(&self.path) {
            return Err(InvalidArgs::new(
                "path",
                format!("`{}` is not a directory of the repository", self.path),
                "give the stack's directory, e.g. clusters/prod",
            ));
        }
        crate::checks::dns_label("namespace", &self.namespace)?;
        super::check_labels(ctx)
    }

    fn expand(self, scope: &Scope) -> Result<ArgoApplication, DeclareError> {
        let labels = labels(scope, scope.name());
        // One application per stack: named after the project and the stack.
        let name = format!("{}-{}", scope.project_name().as_str(), scope.stack_name().as_str());
        let application =
            declare(scope, "application", &self.application(&name, scope.stack_name().as_str(), &labels))?;
        Ok(ArgoApplication { urn: scope.urn().clone(), application })
    }
}

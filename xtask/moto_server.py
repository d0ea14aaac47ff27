"""Starts moto's server with two gaps in its fidelity closed, for Cairn's tests and demo.

- Every EKS cluster gets an OIDC issuer of its own, as on AWS. moto draws one issuer per
  process, so the IAM OIDC providers of two clusters (IRSA) would collide.
- SageMaker DeleteModelPackageGroup, which moto lacks (it answers 500): a model registry
  could never be destroyed.

Both patch moto's own backends, so requests still go through its real request handling.
Usage: python moto_server.py [moto_server arguments]
"""

import uuid

from moto.core.responses import EmptyResult
from moto.eks import models as eks_models
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker import responses as sagemaker_responses
from moto.server import main

_cluster_init = eks_models.Cluster.__init__


def _cluster_with_own_issuer(self, *args, **kwargs):
    _cluster_init(self, *args, **kwargs)
    region = self.arn.split(":")[3]
    self.identity = {"oidc": {"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{uuid.uuid4().hex.upper()}"}}


eks_models.Cluster.__init__ = _cluster_with_own_issuer


def _delete_model_package_group(self, model_package_group_name):
    # Raises moto's own ValidationError when the group does not exist, as AWS does.
    self.describe_model_package_group(model_package_group_name)
    del self.model_package_groups[model_package_group_name]


def _delete_model_package_group_response(self):
    self.sagemaker_backend.delete_model_package_group(self._get_param("ModelPackageGroupName"))
    return EmptyResult()


sagemaker_models.SageMakerModelBackend.delete_model_package_group = _delete_model_package_group
sagemaker_responses.SageMakerResponse.delete_model_package_group = _delete_model_package_group_response

if __name__ == "__main__":
    main()

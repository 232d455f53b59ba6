"""How costnotify talks to AWS: one client maker, one way to read a refusal, one error."""

from __future__ import annotations

from ..errors import CostlibError


class NotifyError(CostlibError, RuntimeError):
    """The morning run cannot go on: the bucket cannot be listed or read, a send was refused."""


def client(service: str):
    """A boto3 client (``s3``, ``sesv2``, ``sns``); credentials come from the environment or
    the role."""
    import boto3

    return boto3.client(service)


def error_code(err) -> str:
    """The code of a botocore ``ClientError`` (``AccessDenied``), else its text."""
    return err.response.get("Error", {}).get("Code", "") or str(err)


__all__ = ["NotifyError", "client", "error_code"]

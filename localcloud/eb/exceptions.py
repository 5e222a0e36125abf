"""The errors the Elastic Beanstalk API answers with, and a driver's deployment failure."""

from moto.core.exceptions import ServiceException


class InvalidParameterValue(ServiceException):
    code = "InvalidParameterValue"


class InvalidParameterCombination(ServiceException):
    code = "InvalidParameterCombination"


class ResourceNotFound(ServiceException):
    code = "ResourceNotFoundException"


class TooManyTags(ServiceException):
    code = "TooManyTagsException"


class DeployError(Exception):
    """A driver's failure: `messages` become ERROR events."""

    def __init__(self, *messages):
        super().__init__(messages[0] if messages else "deployment failed")
        self.messages = list(messages)

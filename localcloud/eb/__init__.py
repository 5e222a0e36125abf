"""Elastic Beanstalk for the local cloud: moto's service, extended in-process.

`install()` swaps moto's EB backend and request handler for ours before the server starts.
"""

import moto.elasticbeanstalk
import moto.elasticbeanstalk.models
import moto.elasticbeanstalk.urls

from localcloud.eb import models, urls


def install():
    moto.elasticbeanstalk.eb_backends = models.eb_backends
    moto.elasticbeanstalk.models.eb_backends = models.eb_backends
    moto.elasticbeanstalk.urls.url_paths = urls.url_paths

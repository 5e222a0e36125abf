"""Elastic Beanstalk for the local cloud: moto's service, extended in-process.

`install(driver)` swaps moto's EB backend and request handler for ours, its backends given the
driver that runs environments, before the server starts.
"""

import moto.elasticbeanstalk
import moto.elasticbeanstalk.models
import moto.elasticbeanstalk.urls

from localcloud.eb import models, urls


def install(driver=None):
    models.eb_backends = models.backends(driver)
    moto.elasticbeanstalk.eb_backends = models.eb_backends
    moto.elasticbeanstalk.models.eb_backends = models.eb_backends
    moto.elasticbeanstalk.urls.url_paths = urls.url_paths

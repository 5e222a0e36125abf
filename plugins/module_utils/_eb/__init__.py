# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elastic Beanstalk for this collection's modules (private: no stability promise outside it).

Each function makes its calls with its own retries and, for describe and list calls, reads every
page; a failed call raises AnsibleEBError (amazon.aws's AnsibleAWSError pattern). Nothing here
writes: the modules decide what to change, in check mode too.
"""

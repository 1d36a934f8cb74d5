"""Package layout: ``adapters/`` installs as the sub-package ``mmhooks.adapters``.

A top-level import name ``adapters`` would collide with an existing PyPI
package, so setuptools maps the folder under ``mmhooks``.
"""

from setuptools import find_packages, setup

core = find_packages(include=["mmhooks", "mmhooks.*"])
backends = ["mmhooks.adapters"] + [f"mmhooks.adapters.{name}" for name in find_packages("adapters")]
setup(packages=core + backends, package_dir={"mmhooks.adapters": "adapters"})

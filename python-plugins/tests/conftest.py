"""Settings every test process shares.

The suites start the services they use and name their addresses; a test that leaves the address
out means the default one, so no test starts a local service for the user's O3ML_HOME
(o3ml/_autostart.py). The autostart tests turn it back on for themselves.
"""

import os

os.environ["O3ML_AUTOSTART"] = "0"

"""`make class-lab`: a JupyterLab for the class whose kernels run in the grading sandbox.

The kernel is started as JupyterLab starts it (jupyter_client, from the kernel spec `make class-lab`
installs), and asked what a student could try: read the answer key, look around the teacher's files.
"""

import os
import shutil
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from lib.blog.class_kernel import NAME, install

ROOT = Path(__file__).parents[1]
KEY = ROOT / "_notebooks" / "2021-09-03-ten-digit-baseline.ipynb"
pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    specs = install(ROOT)
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(specs.resolve())
    try:
        manager, client = start_new_kernel(kernel_name=NAME, startup_timeout=120)
    finally:
        os.environ.pop("JUPYTER_PATH") if old is None else os.environ.update(JUPYTER_PATH=old)
    yield manager, client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def printed(client, code: str) -> str:
    "What `code` prints in the kernel."
    client.execute(code)
    found = []
    while True:
        message = client.get_iopub_msg(timeout=120)
        if message["msg_type"] == "stream":
            found.append(message["content"]["text"])
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle" and found:
            return "".join(found)


def test_the_class_kernel_cannot_see_the_answer_keys_or_the_teachers_home(kernel):
    _, client = kernel
    said = printed(
        client, f"import os\nprint(os.path.exists({str(KEY)!r}), os.path.exists({str(Path.home())!r} + '/.bashrc'))"
    )
    assert said == "False False\n"


def test_the_class_kernel_runs_the_posts_code_with_lib_and_the_data(kernel):
    _, client = kernel
    assert printed(client, "from lib import mnist_sample\nprint(mnist_sample().name)") == "mnist_sample\n"


def test_the_class_kernel_writes_only_in_its_own_home(kernel):
    _, client = kernel
    target = ROOT / "_class-planted"
    code = (
        f"try:\n    open({str(target)!r}, 'w')\n    print('written')\nexcept OSError as e:\n    print(type(e).__name__)"
    )
    assert printed(client, code) in ("OSError\n", "PermissionError\n", "FileNotFoundError\n")
    assert not target.exists()


def test_the_class_kernel_can_be_interrupted(kernel):
    manager, client = kernel
    sent = client.execute("import time\nwhile True:\n    time.sleep(0.1)")
    time.sleep(2)
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != sent:  # the replies to the cells before
        reply = client.get_shell_msg(timeout=30)
    assert (reply["content"]["status"], reply["content"]["ename"]) == ("error", "KeyboardInterrupt")

"""After ``pip install``, fsspec finds our filesystems by protocol with no import of mltable_lite:
``pandas.read_csv("azureml://…")`` and ``fsspec.open("wasbs://…")`` work in a fresh interpreter."""

import subprocess
import sys
import textwrap


def _run(code: str, env_extra: dict, tmp_path) -> str:
    import os

    env = {**os.environ, **env_extra}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_pandas_reads_azureml_uris_through_the_entry_point(tmp_path):
    (tmp_path / "store" / "folder").mkdir(parents=True)
    (tmp_path / "store" / "folder" / "x.csv").write_text("a,b\n1,2\n3,4\n")
    registry = tmp_path / "datastores.yaml"
    registry.write_text(f"datastores:\n  scratch:\n    type: local\n    folder: {tmp_path / 'store'}\n")
    output = _run("""
        import sys, fsspec, pandas
        frame = pandas.read_csv("azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/scratch/paths/folder/x.csv")
        fs, path = fsspec.core.url_to_fs("azureml://datastores/scratch/paths/folder")
        print(frame["b"].sum(), type(fs).__name__, fs.ls(path), "mltable_lite" in sys.modules)
    """, {"MLTABLE_LITE_DATASTORES": str(registry), "AZUREML_ARM_SUBSCRIPTION": "s",
          "AZUREML_ARM_RESOURCEGROUP": "rg", "AZUREML_ARM_WORKSPACE_NAME": "ws"}, tmp_path)
    assert output.split() == ["6", "AzureMachineLearningFileSystem", "['folder/x.csv']", "True"]


def test_fsspec_opens_wasbs_uris_through_the_entry_point(azurite, tmp_path):
    azurite.create_container("mltablelite", "entrypoints")
    azurite.upload_bytes("mltablelite", "entrypoints", "dir/x.csv", b"a\n5\n7\n")
    output = _run("""
        import fsspec, pandas
        with fsspec.open("wasbs://entrypoints@mltablelite.blob.core.windows.net/dir/x.csv") as handle:
            print(pandas.read_csv(handle)["a"].sum())
    """, {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string("mltablelite")}, tmp_path)
    assert output.split() == ["12"]

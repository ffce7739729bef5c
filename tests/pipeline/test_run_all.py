"""`python -m studio run`: one prompt through all five stages to a playable mp4, on the tiny preset."""

import subprocess

from studio.cli import main
from studio.project.model import load_project


def test_run_makes_a_playable_video_from_one_prompt(tmp_path, capsys):
    output = tmp_path / "fox.mp4"
    project_dir = tmp_path / "fox"
    code = main(["run", "A red fox wakes in a snowy forest. Then it runs to a frozen lake at dusk.",
                 "--preset", "tiny", "--chunks", "2", "--project", str(project_dir), "-o", str(output)])
    assert code == 0, capsys.readouterr().err
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                            "stream=codec_name,pix_fmt,width,height,nb_read_frames", "-of", "csv=p=0", str(output)],
                           capture_output=True, text=True, check=True).stdout.strip()
    project = load_project(project_dir)
    scenes = project.script.scenes
    assert len(scenes) == 2
    # Every scene went through every stage: approved references, chunks, a refined video at twice the size.
    assert all(entity.status == "approved" and (project_dir / f"entities/{entity.id}.png").is_file()
               for entity in project.script.entities)
    assert all((project_dir / f"scenes/{scene.id}/refined.mp4").is_file() and not scene.refined_outdated
               and [c.status for c in scene.chunks] == ["ready", "ready"] for scene in scenes)
    # Two chunks a scene: 16 + 8 frames each, refined to 64x64, assembled with cuts.
    assert probe == f"h264,64,64,yuv420p,{2 * 24}"
    assert "plan: 2 scenes" in capsys.readouterr().out

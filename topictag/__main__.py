from topictag.cli import app

app(prog_name="topictag")

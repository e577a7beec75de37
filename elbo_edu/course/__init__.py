"""Course mode: exercises with nbgrader markup, graders that teach, and the course folder.

source      one chapter source -> the published chapter and the nbgrader source notebook
grading     the checks behind every autograded test cell (one sentence on what is wrong)
substitute  put a student's functions in place of the package's (their code trains the VAE)
build       ``elbo-edu course build OUT``: nbgrader_config.py, source/chNN/, instructor/
report      ``elbo-edu course report COURSE_DIR``: mean score and slips per exercise
"""

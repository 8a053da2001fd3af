"""Build environments: the variants' locked dependencies (envs/agno, envs/crewai), the
Containerfile and the image build (envs/images)."""

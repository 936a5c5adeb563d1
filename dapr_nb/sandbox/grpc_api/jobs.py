"""gRPC methods of the jobs building block (thin: protobuf <-> blocks.jobs).

The deprecated ``*Alpha1`` RPCs are the stable handlers; the two whose messages differ
(``DeleteJobsByPrefixAlpha1``, ``ListJobsAlpha1``) only re-wrap the answer, as daprd does.
"""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import jobs_pb2

from ..blocks import jobs
from ._base import RpcBase, unary


class JobRpcs(RpcBase):
    """ScheduleJob, GetJob, DeleteJob, DeleteJobsByPrefix, ListJobs and their Alpha1 twins."""

    @unary
    def ScheduleJob(  # noqa: N802
        self, request: jobs_pb2.ScheduleJobRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.ScheduleJobResponse:
        """Validate and store a job (never delivered: the sandbox has no app channel)."""
        jobs.schedule(self.runtime, request.job if request.HasField("job") else None, request.overwrite)
        return jobs_pb2.ScheduleJobResponse()

    @unary
    def GetJob(  # noqa: N802
        self, request: jobs_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.GetJobResponse:
        """Return a stored job."""
        return jobs_pb2.GetJobResponse(job=jobs.get(self.runtime, request.name))

    @unary
    def DeleteJob(  # noqa: N802
        self, request: jobs_pb2.DeleteJobRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.DeleteJobResponse:
        """Delete a job."""
        jobs.delete(self.runtime, request.name)
        return jobs_pb2.DeleteJobResponse()

    @unary
    def DeleteJobsByPrefix(  # noqa: N802
        self, request: jobs_pb2.DeleteJobsByPrefixRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.DeleteJobsByPrefixResponse:
        """Delete the app's jobs whose names start with the prefix (all of them without one)."""
        jobs.delete_by_prefix(self.runtime, request.name_prefix)
        return jobs_pb2.DeleteJobsByPrefixResponse()

    @unary
    def ListJobs(  # noqa: N802
        self, request: jobs_pb2.ListJobsRequest, context: grpc.ServicerContext
    ) -> jobs_pb2.ListJobsResponse:
        """List the app's jobs."""
        return jobs_pb2.ListJobsResponse(jobs=jobs.list_jobs(self.runtime))

    @unary
    def DeleteJobsByPrefixAlpha1(  # noqa: N802
        self, request: jobs_pb2.DeleteJobsByPrefixRequestAlpha1, context: grpc.ServicerContext
    ) -> jobs_pb2.DeleteJobsByPrefixResponseAlpha1:
        """Deprecated twin of DeleteJobsByPrefix."""
        jobs.delete_by_prefix(self.runtime, request.name_prefix)
        return jobs_pb2.DeleteJobsByPrefixResponseAlpha1()

    @unary
    def ListJobsAlpha1(  # noqa: N802
        self, request: jobs_pb2.ListJobsRequestAlpha1, context: grpc.ServicerContext
    ) -> jobs_pb2.ListJobsResponseAlpha1:
        """Deprecated twin of ListJobs."""
        return jobs_pb2.ListJobsResponseAlpha1(jobs=jobs.list_jobs(self.runtime))

    ScheduleJobAlpha1 = ScheduleJob
    GetJobAlpha1 = GetJob
    DeleteJobAlpha1 = DeleteJob

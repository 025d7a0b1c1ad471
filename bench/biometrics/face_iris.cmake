# The shared evaluation (EER, FNMR at FMR, DET curves, JSON), the benchmark's
# main, and the face and iris protocols.
if(NOT OpenCV_FOUND)
  find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs objdetect)
endif()
target_sources(bench_biometrics PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/evaluation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/enrol_probe.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol_face.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol_iris.cpp
)
target_include_directories(bench_biometrics SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(bench_biometrics PRIVATE ${OpenCV_LIBS})
# Lets the benchmark find ../shared/data next to the source tree when run from build/.
target_compile_definitions(bench_biometrics PRIVATE PAYSYNC_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

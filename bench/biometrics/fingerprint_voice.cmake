# Fingerprint and voice protocols, and the tool that trains the voice
# matcher's background model (biometrics/voice_ubm_data.cpp).
if(NOT OpenCV_FOUND)
  find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs)
endif()
target_sources(bench_biometrics PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/protocol_fingerprint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol_voice.cpp
)

find_package(OpenCV 4.6 REQUIRED COMPONENTS core ml)
add_executable(voice_ubm_train ${CMAKE_CURRENT_LIST_DIR}/voice_ubm_train.cpp)
target_link_libraries(voice_ubm_train PRIVATE paysync_biometrics opencv_core opencv_ml)
target_include_directories(voice_ubm_train PRIVATE ${PROJECT_SOURCE_DIR})
target_include_directories(voice_ubm_train SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
